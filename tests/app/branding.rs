//! Branding: product name, brand files, primary colour and template overrides from
//! `[branding]`; what stops the start, what the pages and mails show, how the files are served.

use std::path::Path;
use std::sync::Arc;

use portcullis::clock::ManualClock;
use portcullis::config::{PrimaryColor, Settings};
use portcullis::secret::Secret;
use portcullis::startup::Application;

use crate::helpers::{PASSWORD, SECRET_KEY, db_test, spawn_app, spawn_app_with, spawn_app_with_smtp};

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#0a7f3c"/></svg>"##;

/// The login page override used below: it builds on the Jinja layout and macros.
const LOGIN_OVERRIDE: &str = r#"{% extends "base.html" %}
{% import "partials/fields.html" as f %}
{% block title %}Welcome to {{ brand.product_name }}{% endblock %}
{% block content %}
<section class="card">
  <h1>Sign in to {{ chrome.brand.product_name }}</h1>
  {{ f.summary(errors, form_error) }}
  <form method="post" action="/login" novalidate>
    <input type="hidden" name="csrf_token" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next }}">
    {{ f.input("username", "Username or e-mail address", "text", login_name, "username", errors.username, "") }}
    {{ f.input("password", "Password", "password", "", "current-password", errors.password, "") }}
    <button type="submit">Sign in</button>
  </form>
  <p class="override-marker">Operated by the Example Co. service desk.</p>
</section>
{% endblock %}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The error `serve` stops with when started with these branding settings.
async fn start_error(customize: impl FnOnce(&mut Settings)) -> String {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.secret_key = Secret::new(SECRET_KEY);
    customize(&mut settings);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    match Application::build_on(settings, Arc::new(clock), listener).await {
        Ok(_) => panic!("the application started"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn a_primary_color_that_is_not_hash_rrggbb_stops_the_start_naming_the_setting() {
    let err = Settings::load(None, [("PORTCULLIS_BRANDING_PRIMARY_COLOR".to_string(), "teal".to_string())])
        .unwrap_err()
        .to_string();
    assert!(err.contains("branding.primary_color") && err.contains("#rrggbb"), "{err}");
    let ok = Settings::load(None, [("PORTCULLIS_BRANDING_PRIMARY_COLOR".to_string(), "#0A7F3C".to_string())]).unwrap();
    assert_eq!(ok.branding.primary_color, Some(PrimaryColor([0x0a, 0x7f, 0x3c])));
}

#[tokio::test]
async fn a_missing_logo_file_stops_the_start_naming_the_setting() {
    let err = start_error(|s| s.branding.logo = "/nonexistent/logo.svg".into()).await;
    assert!(err.contains("branding.logo") && err.contains("/nonexistent/logo.svg"), "{err}");
}

#[tokio::test]
async fn an_override_that_names_no_template_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pages/signin.html", "<p>hello</p>");
    let err = start_error(|s| s.branding.templates_dir = dir.path().to_path_buf()).await;
    assert!(err.contains("pages/signin.html") && err.contains("names no template"), "{err}");
}

#[tokio::test]
async fn an_override_with_a_syntax_error_stops_the_start_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pages/login.html",
        "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ csrf }</p>\n{% endblock %}\n",
    );
    let err = start_error(|s| s.branding.templates_dir = dir.path().to_path_buf()).await;
    assert!(err.contains("pages/login.html") && err.contains("line 3"), "{err}");
}

#[tokio::test]
async fn an_override_that_fails_its_test_render_stops_the_start_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "email/password_reset.txt", "Hello {{ v.name }},\n{{ v.link | no_such_filter }}\n");
    let err = start_error(|s| s.branding.templates_dir = dir.path().to_path_buf()).await;
    assert!(err.contains("email/password_reset.txt") && err.contains("line 2"), "{err}");
}

db_test!(
    async fn the_login_page_is_rendered_from_its_override_with_the_product_name_and_brand_files(backend) {
        let files = tempfile::tempdir().unwrap();
        write(files.path(), "logo.svg", LOGO);
        write(files.path(), "favicon.png", "\u{89}PNG fake");
        write(files.path(), "extra.css", ".override-marker { font-style: italic; }");
        write(files.path(), "overrides/pages/login.html", LOGIN_OVERRIDE);
        let root = files.path().to_path_buf();
        let app = spawn_app_with(backend, |s| {
            s.branding.product_name = "Example ID".into();
            s.branding.logo = root.join("logo.svg");
            s.branding.favicon = root.join("favicon.png");
            s.branding.custom_css = root.join("extra.css");
            s.branding.primary_color = Some(PrimaryColor([0x0a, 0x7f, 0x3c]));
            s.branding.templates_dir = root.join("overrides");
        })
        .await;
        let browser = app.browser();
        let res = browser.get("/login").await;
        assert_eq!(res.status(), 200);
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
        // The login page's own policy: the strict one plus the self-hosted passkey script.
        let login_policy = portcullis::http::csp::CSP
            .replacen("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';", 1);
        assert_eq!(csp, login_policy, "the strict CSP is unchanged");
        let html = res.text().await.unwrap();
        assert!(html.contains("Operated by the Example Co. service desk."), "the override is used: {html}");
        assert!(html.contains("<title>Welcome to Example ID · Example ID</title>"), "{html}");
        assert!(html.contains("Sign in to Example ID"), "{html}");
        assert!(!html.contains("style="), "no inline styles: {html}");

        // The override posts a working form: sign in through it.
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        browser.logout().await;
        let res = browser.login("alice", PASSWORD).await;
        assert_eq!(res.status(), 303, "signing in through the overridden page works");

        // A page without an override shows the brand through the compiled layout.
        let home = app.browser().text("/register").await;
        assert!(home.contains("Example ID") && !home.contains("Portcullis"), "{home}");
        let url = |kind: &str| {
            let start = home.find(&format!("/static/brand/{kind}-")).unwrap_or_else(|| panic!("no {kind} in {home}"));
            home[start..].split('"').next().unwrap().to_string()
        };
        for (kind, content_type, body) in [
            ("logo", "image/svg+xml", LOGO.as_bytes().to_vec()),
            ("favicon", "image/png", "\u{89}PNG fake".as_bytes().to_vec()),
            ("custom-css", "text/css; charset=utf-8", b".override-marker { font-style: italic; }".to_vec()),
        ] {
            let res = app.browser().get(&url(kind)).await;
            assert_eq!(res.status(), 200, "{kind}");
            assert_eq!(res.headers()["content-type"], content_type, "{kind}");
            assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable", "{kind}");
            let etag = res.headers()["etag"].to_str().unwrap().to_string();
            assert_eq!(res.bytes().await.unwrap().to_vec(), body, "{kind}");
            let again = reqwest::Client::new().get(app.url(&url(kind))).header("if-none-match", &etag).send().await.unwrap();
            assert_eq!(again.status(), 304, "{kind}: revalidation by ETag");
        }
        let colors = app.browser().text(&url("colors")).await;
        assert!(colors.contains("--accent: #0a7f3c;") && colors.contains("--accent-ink: #ffffff;"), "{colors}");
        assert_eq!(app.browser().get("/static/brand/logo-0000000000000000.svg").await.status(), 404);
    }
);

db_test!(
    async fn without_branding_settings_the_pages_look_as_before(backend) {
        let app = spawn_app(backend).await;
        let html = app.browser().text("/login").await;
        assert!(html.contains("<title>Sign in · Portcullis</title>"), "{html}");
        assert!(!html.contains("/static/brand/"), "{html}");
    }
);

db_test!(
    async fn a_mail_override_in_html_and_text_is_used_for_a_real_mail(backend) {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "email/verify_email.txt",
            "Welcome to {{ brand.product_name }}, {{ v.name }}!\nConfirm here: {{ v.link }}\nText & more <as is>\n",
        );
        write(
            dir.path(),
            "email/verify_email.html",
            "{% extends \"email/base.html\" %}{% block body %}<p>Dear {{ v.name }}: <a href=\"{{ v.link }}\">confirm</a> &amp; enjoy</p>{% endblock %}",
        );
        let root = dir.path().to_path_buf();
        let app = spawn_app_with_smtp(backend, |s| {
            s.branding.product_name = "Example ID".into();
            s.branding.templates_dir = root;
        })
        .await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let mail = app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;
        assert!(mail.body.contains("Welcome to Example ID, alice!"), "text override: {}", mail.body);
        assert!(mail.body.contains("Text & more <as is>"), "text is not escaped: {}", mail.body);
        assert!(mail.body.contains("Dear alice:"), "html override: {}", mail.body);
        assert!(mail.body.contains(">Example ID</p>"), "the html layout carries the product name: {}", mail.body);
        let link = mail.link(&app.link_to("/verify-email?token="));
        let res = app.browser().get(&app.local(&link)).await;
        assert!(res.status().is_success() || res.status().is_redirection(), "the link works: {}", res.status());
    }
);
