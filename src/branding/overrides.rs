//! Template overrides. The askama templates are compiled in; an operator replaces one by a file
//! of the same relative name in `branding.templates_dir`, written in Jinja syntax (minijinja).
//! At start every file must name a known template, parse, and render once against a sample
//! context; any failure stops the start naming the file and line. At run time the page or mail
//! is rendered from the override with the values its askama template gets (the template
//! struct, serialized), HTML-escaped in `.html` files and not in `.txt` files.
//!
//! Overrides may `{% extends "base.html" %}`, `{% import "partials/fields.html" as f %}` and
//! `{% extends "email/base.html" %}`: when those are not overridden themselves, Jinja versions
//! of the built-in ones (`src/branding/layouts/`) stand in.
//!
//! Translation: `t(key)`, `t1(key, name, value)` and `t2(key, n1, v1, n2, v2)` are registered
//! (the calls the askama templates use), taking the language from `chrome.lang` (pages) or
//! `lang` (mails) of the render context and calling the [`Translate`] function given at start.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use minijinja::value::{Rest, Serde, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, context};

use super::BrandView;

/// `(lang, key, args) -> text`: the translation function offered to overrides.
pub type Translate = Arc<dyn Fn(&str, &str, &[(&str, &str)]) -> String + Send + Sync>;

/// Without a message catalogue, a key renders as itself (what a missing key does, too).
pub fn untranslated() -> Translate {
    Arc::new(|_lang: &str, key: &str, _args: &[(&str, &str)]| key.to_string())
}

/// Every template under `templates/` (a unit test keeps this list equal to the directory).
pub const KNOWN: &[&str] = &[
    "admin/audit.html",
    "admin/client.html",
    "admin/clients.html",
    "admin/confirm.html",
    "admin/dashboard.html",
    "admin/keys.html",
    "admin/layout.html",
    "admin/secret.html",
    "admin/sessions.html",
    "admin/step_up.html",
    "admin/user.html",
    "admin/user_new.html",
    "admin/users.html",
    "base.html",
    "email/account_exists.html",
    "email/account_exists.txt",
    "email/base.html",
    "email/email_changed.html",
    "email/email_changed.txt",
    "email/new_device.html",
    "email/new_device.txt",
    "email/password_changed.html",
    "email/password_changed.txt",
    "email/password_reset.html",
    "email/password_reset.txt",
    "email/security_notice.html",
    "email/security_notice.txt",
    "email/verify_email.html",
    "email/verify_email.txt",
    "pages/consent.html",
    "pages/device.html",
    "pages/device_confirm.html",
    "pages/end_session.html",
    "pages/error.html",
    "pages/home.html",
    "pages/login.html",
    "pages/logout.html",
    "pages/message.html",
    "pages/passkeys.html",
    "pages/profile.html",
    "pages/recovery_codes.html",
    "pages/register.html",
    "pages/reset_confirm.html",
    "pages/reset_request.html",
    "pages/second_factor.html",
    "pages/totp_setup.html",
    "partials/fields.html",
];

/// The layouts and partials an override may build on, in Jinja syntax.
const LAYOUTS: &[(&str, &str)] = &[
    ("base.html", include_str!("layouts/base.html")),
    ("partials/fields.html", include_str!("layouts/partials/fields.html")),
    ("email/base.html", include_str!("layouts/email/base.html")),
];

/// The compiled overrides (none when no directory is configured).
pub struct Overrides {
    env: Environment<'static>,
    /// The template names the operator replaced.
    names: BTreeSet<String>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides").field("names", &self.names).finish_non_exhaustive()
    }
}

impl Overrides {
    pub fn none() -> Self {
        Self { env: Environment::new(), names: BTreeSet::new() }
    }

    /// Reads, compiles and test-renders every file under `dir`.
    pub fn load(dir: &Path, brand: &BrandView, translate: Translate) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        collect(dir, dir, &mut files)
            .with_context(|| format!("`branding.templates_dir`: reading {}", dir.display()))?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_global("brand", Value::from(Serde(brand)));
        register_translation(&mut env, translate);
        let mut names = BTreeSet::new();
        for (name, path) in files {
            if !KNOWN.contains(&name.as_str()) {
                anyhow::bail!(
                    "`branding.templates_dir`: {} names no template of Portcullis (overridable: {})",
                    path.display(),
                    KNOWN.join(", ")
                );
            }
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("`branding.templates_dir`: reading {}", path.display()))?;
            env.add_template_owned(name.clone(), source).map_err(|e| located(dir, &e))?;
            names.insert(name);
        }
        for (name, source) in LAYOUTS {
            if !names.contains(*name) {
                env.add_template(name, source).context("a built-in layout does not compile")?;
            }
        }
        let overrides = Self { env, names };
        for name in &overrides.names {
            overrides.render_value(name, sample_context()).map_err(|e| located(dir, &e))?;
        }
        Ok(overrides)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether the operator replaced template `name` (e.g. `pages/login.html`).
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Renders override `name` with `values` (the template struct's fields).
    pub fn render(&self, name: &str, values: &impl serde::Serialize) -> Result<String, Error> {
        self.render_value(name, Value::from(Serde(values)))
    }

    fn render_value(&self, name: &str, ctx: Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// The error with the override file's path and line.
fn located(dir: &Path, err: &Error) -> anyhow::Error {
    let file = err.name().map(|n| dir.join(n).display().to_string()).unwrap_or_else(|| dir.display().to_string());
    let line = err.line().map(|l| format!(", line {l}")).unwrap_or_default();
    let detail = err.detail().map(|d| format!(": {d}")).unwrap_or_default();
    anyhow::anyhow!("template override {file}{line}: {}{detail}", err.kind())
}

/// Every file under `dir`, with its name relative to `root` (`/`-separated).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.push((name, path));
        }
    }
    Ok(())
}

/// A context with the common values of every page and mail, for the test render at start.
/// Values a particular template has beyond these are undefined there (and render empty).
fn sample_context() -> Value {
    context! {
        chrome => context! { user_name => "sample-user", lang => "en" },
        lang => "en",
        csrf => "sample-csrf-token",
        next => "",
        login_name => "sample-user",
        errors => context! {},
        title => "Sample title",
        message => "Sample message",
        request_id => "sample-request-id",
        v => context! {
            name => "Sample User", link => "https://id.example/link", second_link => "https://id.example/other",
            amount => 1, address => "someone@example.com", device => "Firefox on Linux", ip => "192.0.2.1",
            when => "2026-01-01 00:00 UTC",
        },
    }
}

/// `t`, `t1`, `t2`: the translation calls of the askama templates, for overrides.
fn register_translation(env: &mut Environment<'static>, translate: Translate) {
    fn lang(state: &State) -> String {
        let from_chrome = state.lookup("chrome").and_then(|c| c.get_attr("lang").ok()).filter(|v| !v.is_undefined());
        from_chrome
            .or_else(|| state.lookup("lang"))
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "en".to_string())
    }
    // t(key), t1(key, name, value), t2(key, n1, v1, n2, v2): the arguments after the key are
    // name/value pairs.
    for (name, pairs) in [("t", 0), ("t1", 1), ("t2", 2)] {
        let t = translate.clone();
        env.add_function(name, move |state: &State, key: String, rest: Rest<Value>| {
            if rest.len() != pairs * 2 {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{name}() takes a key and {pairs} name/value pair(s)"),
                ));
            }
            let args: Vec<(String, String)> = rest.chunks(2).map(|p| (p[0].to_string(), p[1].to_string())).collect();
            let args: Vec<(&str, &str)> = args.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            Ok(t(&lang(state), &key, &args))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_of_overridable_templates_is_the_templates_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        collect(&root, &root, &mut files).unwrap();
        let found: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
        assert_eq!(found, KNOWN.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn overrides_escape_html_but_not_text_and_translate_in_the_pages_language() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("email")).unwrap();
        std::fs::write(dir.path().join("email/verify_email.txt"), "Hi {{ v.name }} {{ t1('hello', 'name', v.name) }}")
            .unwrap();
        std::fs::write(dir.path().join("email/verify_email.html"), "<p>Hi {{ v.name }}</p>").unwrap();
        let translate: Translate =
            Arc::new(|lang: &str, key: &str, args: &[(&str, &str)]| format!("{lang}:{key}:{args:?}"));
        let o = Overrides::load(dir.path(), &BrandView::default(), translate).unwrap();
        #[derive(serde::Serialize)]
        struct V<'a> {
            name: &'a str,
        }
        let ctx = context! { v => Value::from(Serde(V { name: "<b>&" })), lang => "de" };
        assert_eq!(o.render_value("email/verify_email.html", ctx.clone()).unwrap(), "<p>Hi &lt;b&gt;&amp;</p>");
        assert_eq!(o.render_value("email/verify_email.txt", ctx).unwrap(), "Hi <b>& de:hello:[(\"name\", \"<b>&\")]");
    }
}
