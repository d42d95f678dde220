//! Typed settings, layered: built-in defaults (`config/default.toml`) < `--config FILE` <
//! environment variables. Every environment variable is listed, with its kind, in [`ENV_VARS`],
//! so the names in the defaults file, the README and the code are one list.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::Deserialize;
use url::Url;

pub use self::audit::{AuditSettings, WEBHOOK_SECRET_MIN_BYTES, WebhookSettings};
pub use self::branding::{BrandingSettings, PrimaryColor};
pub use self::checks::{MAX_HEADER_BYTES, MIN_HEADER_BYTES};
pub use self::env::{API_KEY_VAR, ENV_VARS, EnvVar, Kind};
pub use self::keys::{KeySettings, RotateEvery};
pub use crate::jws::Alg;
pub use crate::net::IpNet;
use crate::secret::Secret;

/// The `[audit]` settings: retention and webhooks (with the environment's one endpoint).
mod audit;
/// The `[branding]` settings: product name, brand files, primary colour, template overrides.
mod branding;
/// Checks of the request-head limits, HSTS and the SECRET_KEY strength rule.
mod checks;
/// The environment variables: one table of names, settings and kinds.
mod env;
/// The `[keys]` settings (the signing-key rotation schedule).
mod keys;

/// The defaults, compiled in so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub issuer: String,
    pub bind: String,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub secret_key: Secret,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub http: HttpSettings,
    pub session: SessionSettings,
    pub password: PasswordSettings,
    pub login: LoginSettings,
    pub account: AccountSettings,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub audit: AuditSettings,
    pub mail: MailSettings,
    pub branding: BrandingSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub migrate_on_start: bool,
    /// SQLite: concurrent refresh rotations share one transaction and one fsync, each
    /// answered only after its commit (see `store::group_commit`). PostgreSQL ignores it.
    pub group_commit: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub form_body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub trusted_proxies: Vec<String>,
    pub metrics_enabled: bool,
    pub header_read_timeout_secs: u64,
    /// Largest request line plus headers; more is answered 431.
    pub max_header_bytes: usize,
    /// Longest request target (path and query); more is answered 414.
    pub max_uri_bytes: usize,
    /// `Strict-Transport-Security: max-age`, sent on every response when the issuer is https.
    pub hsts_max_age_secs: u64,
    pub hsts_include_subdomains: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub hash_concurrency: usize,
    pub min_length: usize,
    pub max_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    pub free_failures: u32,
    pub ip_max_failures: u32,
    pub ip_window_secs: i64,
    pub device_cookie_days: i64,
    /// The longest wait a name's failures can earn.
    pub max_wait_secs: i64,
    /// A name's failures stop counting once its last one is this old.
    pub failure_decay_secs: i64,
    /// Mail a notice when a sign-in completes on a device not known before.
    pub new_device_mail: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// The WebAuthn RP ID passkeys are scoped to: empty for the issuer's host, or a parent
    /// domain of it (passkeys then work on its sibling hosts too).
    pub passkey_rp_id: String,
    /// Refuse a passkey whose sign counter went backwards (it is flagged and its owner
    /// mailed either way).
    pub passkey_refuse_counter_regression: bool,
    pub require_verified_email: bool,
    pub verify_token_lifetime_secs: i64,
    pub reset_token_lifetime_secs: i64,
    pub reset_max_per_address: u32,
    pub reset_max_per_ip: u32,
    pub totp_issuer: String,
    /// Registrations that cost a password hash, per client address and in all, per window.
    pub register_max_per_ip: u32,
    pub register_max_global: u32,
    pub register_window_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Parsed when the settings load: an unknown name is an error naming the setting.
    pub id_token_alg: Alg,
    pub access_token_alg: Alg,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub code_ttl_secs: i64,
    /// RFC 8628: the lifetime of a device code and its user code.
    pub device_code_ttl_secs: i64,
    /// RFC 8628 §3.2 `interval`: the seconds a device waits between polls.
    pub device_poll_interval_secs: i64,
    pub refresh_idle_ttl_secs: i64,
    pub refresh_absolute_ttl_secs: i64,
    /// Opt-in window (ms, 0 = strict) in which a rotated refresh token gets its successor
    /// again instead of revoking the grant; at most [`REFRESH_GRACE_MAX_MS`].
    pub refresh_grace_ms: i64,
    pub key_rotation_delay_secs: i64,
    pub key_cache_secs: i64,
}

/// Upper bound of `tokens.refresh_grace_ms`: a window for refreshes racing each other, not
/// for a token replayed later (RFC 9700 §4.14.2).
pub const REFRESH_GRACE_MAX_MS: i64 = 5000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub server: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    pub default_sender: String,
    pub tls: MailTls,
    pub send_timeout_secs: u64,
    pub max_attempts: u32,
    pub retry_base_secs: i64,
    pub retry_max_secs: i64,
    pub poll_interval_ms: u64,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain connection upgraded with STARTTLS (port 587); required, never optional.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("environment variable {var}: {reason}")]
    Env { var: String, reason: String },
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        // One line per problem, naming the key and where its value came from.
        let lines: Vec<String> = err
            .into_iter()
            .map(|e| {
                let setting = e.path.join(".");
                // Values merged in code are the environment's: name the variable, not the line.
                let place = e.metadata.as_ref().and_then(|m| m.source.as_ref()).map(|s| match s {
                    figment::Source::Code(_) => match ENV_VARS.iter().find(|v| v.key == setting) {
                        Some(var) => format!(" (from environment variable {})", var.name),
                        None => " (from the environment)".to_string(),
                    },
                    other => format!(" (from {other})"),
                });
                let key = if e.path.is_empty() { String::new() } else { format!("`{setting}`: ") };
                format!("{key}{}{}", e.kind, place.unwrap_or_default())
            })
            .collect();
        ConfigError::Invalid(format!("invalid configuration: {}", lines.join("; ")))
    }
}

impl Settings {
    /// The built-in defaults alone, as tests start from.
    pub fn defaults() -> Result<Self, ConfigError> {
        let mut settings = Figment::from(Toml::string(DEFAULT_TOML)).extract::<Settings>()?;
        audit::check(&mut settings.audit, false)?;
        settings.checked()
    }

    /// Defaults < optional file < the given environment (pass `std::env::vars()`).
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        for var in ENV_VARS {
            if let Some(raw) = env.get(var.name) {
                figment = figment.merge(Serialized::default(var.key, var.value(raw)?));
            }
        }
        if let (false, Some(key)) = (env.contains_key("MAIL_PASSWORD"), env.get(API_KEY_VAR)) {
            figment = figment.merge(Serialized::default("mail.password", key.clone()));
        }
        let mut settings: Settings = figment.extract()?;
        let env_hook = audit::from_env(&env)?;
        let from_env = env_hook.is_some();
        settings.audit.webhooks.extend(env_hook);
        audit::check(&mut settings.audit, from_env)?;
        settings.checked()
    }

    /// Cross-field checks that serde cannot express.
    fn checked(self) -> Result<Self, ConfigError> {
        let issuer = Url::parse(&self.issuer)
            .map_err(|e| ConfigError::Invalid(format!("`issuer`: not an absolute URL ({e})")))?;
        if !matches!(issuer.scheme(), "http" | "https") || issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(ConfigError::Invalid("`issuer`: must be an http(s) URL without query or fragment".into()));
        }
        self.bind_addr()?;
        self.trusted_proxies()?;
        if self.session.idle_timeout_secs <= 0 || self.session.absolute_timeout_secs <= 0 {
            return Err(ConfigError::Invalid("`session`: timeouts must be positive".into()));
        }
        if self.password.min_length < 8 {
            return Err(ConfigError::Invalid("`password.min_length`: must be at least 8".into()));
        }
        if self.account.reset_token_lifetime_secs <= 0 || self.account.verify_token_lifetime_secs <= 0 {
            return Err(ConfigError::Invalid("`account`: token lifetimes must be positive".into()));
        }
        let t = &self.tokens;
        if !(1..=60).contains(&t.code_ttl_secs) {
            return Err(ConfigError::Invalid("`tokens.code_ttl_secs`: between 1 and 60 seconds".into()));
        }
        if !(60..=1800).contains(&t.device_code_ttl_secs) {
            return Err(ConfigError::Invalid("`tokens.device_code_ttl_secs`: between 60 and 1800 seconds".into()));
        }
        if !(1..=60).contains(&t.device_poll_interval_secs) {
            return Err(ConfigError::Invalid("`tokens.device_poll_interval_secs`: between 1 and 60 seconds".into()));
        }
        if [t.access_token_ttl_secs, t.id_token_ttl_secs, t.refresh_idle_ttl_secs, t.refresh_absolute_ttl_secs]
            .iter()
            .any(|v| *v <= 0)
        {
            return Err(ConfigError::Invalid("`tokens`: lifetimes must be positive".into()));
        }
        if !(0..=REFRESH_GRACE_MAX_MS).contains(&t.refresh_grace_ms) {
            return Err(ConfigError::Invalid(format!(
                "`tokens.refresh_grace_ms` (env PORTCULLIS_REFRESH_GRACE): {} is out of range: milliseconds from 0 (strict, the default) to {REFRESH_GRACE_MAX_MS}",
                t.refresh_grace_ms
            )));
        }
        if t.key_cache_secs < 1 {
            return Err(ConfigError::Invalid("`tokens.key_cache_secs`: at least 1".into()));
        }
        if t.key_rotation_delay_secs < t.key_cache_secs && t.key_rotation_delay_secs != 0 {
            return Err(ConfigError::Invalid(
                "`tokens.key_rotation_delay_secs`: 0, or at least tokens.key_cache_secs, so every node publishes a key before it is used".into(),
            ));
        }
        let every = self.keys.rotate_every.secs();
        if every != 0 && every <= t.key_rotation_delay_secs {
            return Err(ConfigError::Invalid(
                "`keys.rotate_every`: 0 (rotate by hand only), or longer than tokens.key_rotation_delay_secs".into(),
            ));
        }
        if self.password.max_bytes < 64 {
            return Err(ConfigError::Invalid("`password.max_bytes`: must allow at least 64 bytes".into()));
        }
        checks::secret_key(self.secret_key.expose())?;
        checks::http_limits(&self.http)?;
        Ok(self)
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| ConfigError::Invalid(format!("`bind`: {:?} is not an address:port", self.bind)))
    }

    /// True when the issuer is https: cookies become Secure with the `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Where mail goes when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The issuer without a trailing slash, the base for every absolute link.
    pub fn public_url(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// The database URL, or the SQLite file in the data directory when none is set.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("portcullis.db").display())
        } else {
            self.database_url.expose().to_string()
        }
    }

    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.http
            .trusted_proxies
            .iter()
            .map(|s| {
                IpNet::parse(s).ok_or_else(|| {
                    ConfigError::Invalid(format!("`http.trusted_proxies`: {s:?} is not an IP address or CIDR"))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_just_work() {
        let s = Settings::defaults().unwrap();
        assert_eq!(s.bind, "127.0.0.1:5000");
        assert_eq!(s.issuer, "http://127.0.0.1:5000");
        assert_eq!(s.password.argon2_memory_kib, 19456);
        assert!(s.database_url().starts_with("sqlite://data/portcullis.db"));
        assert!(!s.secure_cookies());
    }

    #[test]
    fn environment_overrides_with_the_documented_names() {
        let s = Settings::load(
            None,
            env(&[
                ("PORTCULLIS_BIND", "0.0.0.0:8080"),
                ("SECRET_KEY", "a-long-enough-key-with-many-characters"),
                ("MAIL_PORT", "2525"),
                ("EMAIL_SERVICE_API_KEY", "SG.key"),
                ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1"),
                ("PORTCULLIS_MIGRATE_ON_START", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(s.bind, "0.0.0.0:8080");
        assert_eq!(s.secret_key.expose(), "a-long-enough-key-with-many-characters");
        assert_eq!(s.mail.port, 2525);
        assert_eq!(s.mail.password.expose(), "SG.key");
        assert_eq!(s.http.trusted_proxies.len(), 2);
        assert!(!s.database.migrate_on_start);
    }

    #[test]
    fn mail_password_wins_over_the_api_key() {
        let s = Settings::load(None, env(&[("MAIL_PASSWORD", "pw"), ("EMAIL_SERVICE_API_KEY", "key")])).unwrap();
        assert_eq!(s.mail.password.expose(), "pw");
    }

    #[test]
    fn unknown_keys_in_a_file_are_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.toml");
        std::fs::write(&path, "[session]\nidle_timeout = 5\n").unwrap();
        let err = Settings::load(Some(&path), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("idle_timeout"), "{err}");
    }

    #[test]
    fn signing_algorithms_are_typed_settings_and_an_unknown_one_names_the_setting() {
        let s = Settings::defaults().unwrap();
        assert_eq!((s.tokens.id_token_alg, s.tokens.access_token_alg), (Alg::RS256, Alg::ES256));
        let s = Settings::load(None, env(&[("PORTCULLIS_ID_TOKEN_ALG", "EdDSA")])).unwrap();
        assert_eq!(s.tokens.id_token_alg, Alg::EdDSA);

        for (var, setting) in [
            ("PORTCULLIS_ID_TOKEN_ALG", "tokens.id_token_alg"),
            ("PORTCULLIS_ACCESS_TOKEN_ALG", "tokens.access_token_alg"),
        ] {
            let err = Settings::load(None, env(&[(var, "HS256")])).unwrap_err().to_string();
            assert!(err.contains(&format!("`{setting}`")) && err.contains("\"HS256\" is not one of"), "{var}: {err}");
            assert!(err.contains(&format!("(from environment variable {var})")), "{var}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alg.toml");
        std::fs::write(&path, "[tokens]\naccess_token_alg = \"none\"\n").unwrap();
        let err = Settings::load(Some(&path), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("`tokens.access_token_alg`") && err.contains("\"none\""), "{err}");
    }

    #[test]
    fn every_environment_variable_names_a_default_setting_of_its_kind() {
        use figment::value::Value;
        let defaults = Figment::from(Toml::string(DEFAULT_TOML));
        for var in ENV_VARS {
            let value = defaults.find_value(var.key).unwrap_or_else(|_| panic!("{}: no setting {}", var.name, var.key));
            let kind = match value {
                Value::Num(..) => Kind::Number,
                Value::Bool(..) => Kind::Bool,
                Value::Array(..) => Kind::List,
                _ => Kind::Text,
            };
            assert_eq!(var.kind, kind, "{} ({})", var.name, var.key);
        }
    }

    #[test]
    fn a_bad_number_in_the_environment_names_the_variable() {
        let err = Settings::load(None, env(&[("MAIL_PORT", "twenty")])).unwrap_err().to_string();
        assert!(err.contains("MAIL_PORT"), "{err}");
    }
}
