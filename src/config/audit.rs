//! The `[audit]` settings: retention and the optional webhooks (`[[audit.webhooks]]` in a file,
//! or one endpoint from `PORTCULLIS_AUDIT_WEBHOOK_URL` + `PORTCULLIS_AUDIT_WEBHOOK_SECRET` for
//! containers), with their checks: an http(s) URL, a secret of at least 32 bytes given inline
//! or in a file. Event-type names are checked where the endpoints are built (`audit::webhook`),
//! since the settings know no domain types.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::ConfigError;
use crate::secret::Secret;

/// A webhook secret must be at least this long (bytes): HMAC-SHA256 keys shorter than the hash
/// are weaker than the signature.
pub const WEBHOOK_SECRET_MIN_BYTES: usize = 32;

/// The environment's one endpoint (a documented special case: a list has no single variable).
pub const WEBHOOK_URL_VAR: &str = "PORTCULLIS_AUDIT_WEBHOOK_URL";
pub const WEBHOOK_SECRET_VAR: &str = "PORTCULLIS_AUDIT_WEBHOOK_SECRET";
pub const WEBHOOK_SECRET_FILE_VAR: &str = "PORTCULLIS_AUDIT_WEBHOOK_SECRET_FILE";
pub const WEBHOOK_TYPES_VAR: &str = "PORTCULLIS_AUDIT_WEBHOOK_TYPES";
pub const WEBHOOK_CA_FILE_VAR: &str = "PORTCULLIS_AUDIT_WEBHOOK_CA_FILE";

/// The `[audit]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Events older than this are purged by housekeeping (0 = kept forever); so are their
    /// undelivered webhook deliveries.
    pub retention_days: u32,
    /// Receivers of every event (or of the listed types), each POSTed the event as signed JSON.
    #[serde(default)]
    pub webhooks: Vec<WebhookSettings>,
    /// Time limit for one POST (connect, TLS, request, response head).
    pub webhook_timeout_secs: u64,
    /// Retry delays double from base up to max.
    pub webhook_retry_base_secs: i64,
    pub webhook_retry_max_secs: i64,
    /// Attempts before a delivery is marked failed; 0 = retry until retention purges the event.
    pub webhook_max_attempts: u32,
    /// How often the queue is checked for due deliveries (a local commit wakes it at once).
    pub webhook_poll_interval_ms: u64,
}

/// One `[[audit.webhooks]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where events are POSTed: http or https.
    pub url: String,
    /// The HMAC-SHA256 key (at least 32 bytes). After loading it holds the file's content when
    /// `secret_file` is given instead.
    #[serde(default)]
    pub secret: Secret,
    /// A file holding the secret (trimmed), e.g. a container secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Event types sent to this endpoint (`sign_in.failed`, or a family: `sign_in.*`); empty = all.
    #[serde(default)]
    pub types: Vec<String>,
    /// https only: a PEM file of the CA certificates to trust for this endpoint instead of the
    /// public roots (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// The endpoint the environment names, if `PORTCULLIS_AUDIT_WEBHOOK_URL` is set.
pub(super) fn from_env(env: &HashMap<String, String>) -> Result<Option<WebhookSettings>, ConfigError> {
    let Some(url) = env.get(WEBHOOK_URL_VAR).filter(|u| !u.trim().is_empty()) else {
        for var in [WEBHOOK_SECRET_VAR, WEBHOOK_SECRET_FILE_VAR, WEBHOOK_TYPES_VAR, WEBHOOK_CA_FILE_VAR] {
            if env.contains_key(var) {
                return Err(ConfigError::Env {
                    var: var.into(),
                    reason: format!("set without {WEBHOOK_URL_VAR}, the endpoint it belongs to"),
                });
            }
        }
        return Ok(None);
    };
    let types = env
        .get(WEBHOOK_TYPES_VAR)
        .map(|t| t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default();
    Ok(Some(WebhookSettings {
        url: url.trim().to_string(),
        secret: env.get(WEBHOOK_SECRET_VAR).cloned().map(Secret::new).unwrap_or_default(),
        secret_file: env.get(WEBHOOK_SECRET_FILE_VAR).map(PathBuf::from),
        types,
        ca_file: env.get(WEBHOOK_CA_FILE_VAR).map(PathBuf::from),
    }))
}

/// Checks every endpoint and reads secret files; the error names the setting (`audit.webhooks[1].url`,
/// or the variable for the environment's endpoint, which comes last).
pub(super) fn check(audit: &mut AuditSettings, from_env: bool) -> Result<(), ConfigError> {
    let last = audit.webhooks.len().saturating_sub(1);
    let mut seen = std::collections::HashSet::new();
    for (i, hook) in audit.webhooks.iter_mut().enumerate() {
        let env = from_env && i == last;
        let name = |field: &str| match (env, field) {
            (true, "url") => WEBHOOK_URL_VAR.to_string(),
            (true, "secret") => WEBHOOK_SECRET_VAR.to_string(),
            (true, "secret_file") => WEBHOOK_SECRET_FILE_VAR.to_string(),
            (true, "ca_file") => WEBHOOK_CA_FILE_VAR.to_string(),
            _ => format!("`audit.webhooks[{i}].{field}`"),
        };
        let url = Url::parse(&hook.url).map_err(|e| {
            ConfigError::Invalid(format!("{}: {:?} is not an absolute URL ({e})", name("url"), hook.url))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid(format!("{}: must be an http or https URL", name("url"))));
        }
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::Invalid(format!(
                "{}: no user name, password or fragment (the signature authenticates the sender)",
                name("url")
            )));
        }
        if !seen.insert(url.to_string()) {
            return Err(ConfigError::Invalid(format!("{}: {url} is configured twice", name("url"))));
        }
        hook.url = url.to_string();
        if hook.ca_file.is_some() && url.scheme() != "https" {
            return Err(ConfigError::Invalid(format!("{}: only for an https URL", name("ca_file"))));
        }
        match (&hook.secret_file, hook.secret.is_empty()) {
            (Some(_), false) => {
                return Err(ConfigError::Invalid(format!(
                    "{}: give secret or secret_file, not both",
                    name("secret_file")
                )));
            }
            (Some(path), true) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::Invalid(format!("{}: cannot read {} ({e})", name("secret_file"), path.display()))
                })?;
                hook.secret = Secret::new(text.trim());
            }
            (None, _) => {}
        }
        if hook.secret.expose().len() < WEBHOOK_SECRET_MIN_BYTES {
            let which = if hook.secret_file.is_some() { name("secret_file") } else { name("secret") };
            return Err(ConfigError::Invalid(format!(
                "{which}: the webhook secret must be at least {WEBHOOK_SECRET_MIN_BYTES} bytes (it has {}); \
                 generate one with `openssl rand -hex 32`",
                hook.secret.expose().len()
            )));
        }
    }
    let a = &*audit;
    if a.webhook_timeout_secs == 0
        || a.webhook_retry_base_secs <= 0
        || a.webhook_retry_max_secs < a.webhook_retry_base_secs
    {
        return Err(ConfigError::Invalid(
            "`audit.webhook_*`: timeout and retry base must be positive, retry max at least the base".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load_file(toml: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hooks.toml");
        std::fs::write(&path, toml).unwrap();
        Settings::load(Some(&path), Vec::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn no_webhooks_by_default() {
        assert!(Settings::defaults().unwrap().audit.webhooks.is_empty());
    }

    #[test]
    fn webhooks_come_from_the_file_with_a_secret_inline_or_in_a_file_and_a_type_filter() {
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("hook.secret");
        std::fs::write(&secret_path, format!("  {SECRET}-from-file\n")).unwrap();
        let s = load_file(&format!(
            "[[audit.webhooks]]\nurl = \"https://siem.example/in\"\nsecret = \"{SECRET}\"\n\
             [[audit.webhooks]]\nurl = \"http://10.0.0.5:8080/hook\"\nsecret_file = {:?}\ntypes = [\"sign_in.*\", \"user.deleted\"]\n",
            secret_path.display().to_string()
        ))
        .unwrap();
        let hooks = &s.audit.webhooks;
        assert_eq!(hooks.len(), 2);
        assert_eq!((hooks[0].url.as_str(), hooks[0].secret.expose()), ("https://siem.example/in", SECRET));
        assert_eq!(hooks[1].secret.expose(), format!("{SECRET}-from-file"), "read from the file, trimmed");
        assert_eq!(hooks[1].types, ["sign_in.*", "user.deleted"]);
        assert_eq!(format!("{:?}", hooks[0]).matches(SECRET).count(), 0, "the secret redacts itself");
    }

    #[test]
    fn a_bad_webhook_is_a_config_error_naming_the_setting() {
        for (case, entry, expected) in [
            ("not a URL", format!("url = \"siem\"\nsecret = \"{SECRET}\""), "`audit.webhooks[0].url`"),
            (
                "ftp",
                format!("url = \"ftp://siem.example/\"\nsecret = \"{SECRET}\""),
                "`audit.webhooks[0].url`: must be",
            ),
            ("credentials", format!("url = \"https://u:p@siem.example/\"\nsecret = \"{SECRET}\""), "no user name"),
            (
                "no secret",
                "url = \"https://siem.example/\"".to_string(),
                "`audit.webhooks[0].secret`: the webhook secret must be at least 32",
            ),
            (
                "short secret",
                "url = \"https://siem.example/\"\nsecret = \"short\"".to_string(),
                "at least 32 bytes (it has 5)",
            ),
            (
                "missing file",
                "url = \"https://siem.example/\"\nsecret_file = \"/nonexistent/hook\"".to_string(),
                "`audit.webhooks[0].secret_file`: cannot read",
            ),
            (
                "both",
                format!("url = \"https://siem.example/\"\nsecret = \"{SECRET}\"\nsecret_file = \"/x\""),
                "not both",
            ),
            (
                "CA for http",
                format!("url = \"http://siem.example/\"\nsecret = \"{SECRET}\"\nca_file = \"/ca.pem\""),
                "`audit.webhooks[0].ca_file`: only for an https URL",
            ),
            ("unknown key", format!("url = \"https://siem.example/\"\nsecret = \"{SECRET}\"\nevents = []"), "events"),
        ] {
            let err = load_file(&format!("[[audit.webhooks]]\n{entry}\n")).unwrap_err();
            assert!(err.contains(expected), "{case}: {err}");
            assert!(!err.contains(SECRET), "{case}: the secret stays out of the message");
        }
        let twice = format!("[[audit.webhooks]]\nurl = \"https://a.example/\"\nsecret = \"{SECRET}\"\n").repeat(2);
        assert!(
            load_file(&twice).unwrap_err().contains("`audit.webhooks[1].url`: https://a.example/ is configured twice")
        );
    }

    #[test]
    fn the_environment_adds_one_endpoint_and_its_errors_name_the_variables() {
        let s = Settings::load(
            None,
            env(&[
                ("PORTCULLIS_AUDIT_WEBHOOK_URL", "https://siem.example/in"),
                ("PORTCULLIS_AUDIT_WEBHOOK_SECRET", SECRET),
                ("PORTCULLIS_AUDIT_WEBHOOK_TYPES", "sign_in.failed, user.*"),
            ]),
        )
        .unwrap();
        let hook = &s.audit.webhooks[0];
        assert_eq!((hook.url.as_str(), hook.secret.expose()), ("https://siem.example/in", SECRET));
        assert_eq!(hook.types, ["sign_in.failed", "user.*"]);

        let err = Settings::load(None, env(&[("PORTCULLIS_AUDIT_WEBHOOK_URL", "https://siem.example/")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PORTCULLIS_AUDIT_WEBHOOK_SECRET: the webhook secret must be at least 32"), "{err}");
        let err = Settings::load(
            None,
            env(&[("PORTCULLIS_AUDIT_WEBHOOK_URL", "gopher://x"), ("PORTCULLIS_AUDIT_WEBHOOK_SECRET", SECRET)]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("PORTCULLIS_AUDIT_WEBHOOK_URL: must be an http or https URL"), "{err}");
        let err = Settings::load(None, env(&[("PORTCULLIS_AUDIT_WEBHOOK_SECRET", SECRET)])).unwrap_err().to_string();
        assert!(
            err.contains("PORTCULLIS_AUDIT_WEBHOOK_SECRET") && err.contains("without PORTCULLIS_AUDIT_WEBHOOK_URL"),
            "{err}"
        );
    }
}
