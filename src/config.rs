//! Typed settings, layered: built-in defaults (`config/default.toml`) < `--config FILE` <
//! environment variables. Every environment variable is listed in [`ENV_VARS`], so the
//! names in the defaults file, the README and the code are one list.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::Deserialize;
use url::Url;

pub use self::checks::{MAX_HEADER_BYTES, MIN_HEADER_BYTES};
pub use self::keys::{KeySettings, RotateEvery};
pub use crate::jws::Alg;
pub use crate::net::IpNet;
use crate::secret::Secret;

/// Checks of the request-head limits, HSTS and the SECRET_KEY strength rule.
mod checks;
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
    pub mail: MailSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    pub migrate_on_start: bool,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
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

/// How an environment variable's text becomes a setting value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Number,
    Bool,
    /// Comma-separated list of strings.
    List,
}

/// Every environment variable Portcullis reads, and the setting it overrides.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("PORTCULLIS_ISSUER", "issuer"),
    ("PORTCULLIS_BIND", "bind"),
    ("PORTCULLIS_DATA_DIR", "data_dir"),
    ("DATABASE_URL", "database_url"),
    ("SECRET_KEY", "secret_key"),
    ("PORTCULLIS_DB_MAX_CONNECTIONS", "database.max_connections"),
    ("PORTCULLIS_DB_ACQUIRE_TIMEOUT", "database.acquire_timeout_secs"),
    ("PORTCULLIS_MIGRATE_ON_START", "database.migrate_on_start"),
    ("PORTCULLIS_LOG_FORMAT", "log.format"),
    ("PORTCULLIS_LOG", "log.level"),
    ("PORTCULLIS_FORM_BODY_LIMIT", "http.form_body_limit_bytes"),
    ("PORTCULLIS_REQUEST_TIMEOUT", "http.request_timeout_secs"),
    ("PORTCULLIS_TRUSTED_PROXIES", "http.trusted_proxies"),
    ("PORTCULLIS_METRICS", "http.metrics_enabled"),
    ("PORTCULLIS_HEADER_READ_TIMEOUT", "http.header_read_timeout_secs"),
    ("PORTCULLIS_MAX_HEADER_BYTES", "http.max_header_bytes"),
    ("PORTCULLIS_MAX_URI_BYTES", "http.max_uri_bytes"),
    ("PORTCULLIS_HSTS_MAX_AGE", "http.hsts_max_age_secs"),
    ("PORTCULLIS_HSTS_INCLUDE_SUBDOMAINS", "http.hsts_include_subdomains"),
    ("PORTCULLIS_SESSION_IDLE_TIMEOUT", "session.idle_timeout_secs"),
    ("PORTCULLIS_SESSION_ABSOLUTE_TIMEOUT", "session.absolute_timeout_secs"),
    ("PORTCULLIS_ARGON2_MEMORY_KIB", "password.argon2_memory_kib"),
    ("PORTCULLIS_ARGON2_ITERATIONS", "password.argon2_iterations"),
    ("PORTCULLIS_ARGON2_PARALLELISM", "password.argon2_parallelism"),
    ("PORTCULLIS_HASH_CONCURRENCY", "password.hash_concurrency"),
    ("PORTCULLIS_PASSWORD_MIN_LENGTH", "password.min_length"),
    ("PORTCULLIS_PASSWORD_MAX_BYTES", "password.max_bytes"),
    ("PORTCULLIS_LOGIN_FREE_FAILURES", "login.free_failures"),
    ("PORTCULLIS_LOGIN_IP_MAX_FAILURES", "login.ip_max_failures"),
    ("PORTCULLIS_LOGIN_IP_WINDOW", "login.ip_window_secs"),
    ("PORTCULLIS_DEVICE_COOKIE_DAYS", "login.device_cookie_days"),
    ("PORTCULLIS_LOGIN_MAX_WAIT", "login.max_wait_secs"),
    ("PORTCULLIS_LOGIN_FAILURE_DECAY", "login.failure_decay_secs"),
    ("PORTCULLIS_REQUIRE_VERIFIED_EMAIL", "account.require_verified_email"),
    ("PORTCULLIS_VERIFY_TOKEN_LIFETIME", "account.verify_token_lifetime_secs"),
    ("PORTCULLIS_RESET_TOKEN_LIFETIME", "account.reset_token_lifetime_secs"),
    ("PORTCULLIS_RESET_MAX_PER_ADDRESS", "account.reset_max_per_address"),
    ("PORTCULLIS_RESET_MAX_PER_IP", "account.reset_max_per_ip"),
    ("PORTCULLIS_TOTP_ISSUER", "account.totp_issuer"),
    ("PORTCULLIS_REGISTER_MAX_PER_IP", "account.register_max_per_ip"),
    ("PORTCULLIS_REGISTER_MAX_GLOBAL", "account.register_max_global"),
    ("PORTCULLIS_REGISTER_WINDOW", "account.register_window_secs"),
    ("PORTCULLIS_ID_TOKEN_ALG", "tokens.id_token_alg"),
    ("PORTCULLIS_ACCESS_TOKEN_ALG", "tokens.access_token_alg"),
    ("PORTCULLIS_ACCESS_TOKEN_TTL", "tokens.access_token_ttl_secs"),
    ("PORTCULLIS_ID_TOKEN_TTL", "tokens.id_token_ttl_secs"),
    ("PORTCULLIS_CODE_TTL", "tokens.code_ttl_secs"),
    ("PORTCULLIS_REFRESH_IDLE_TTL", "tokens.refresh_idle_ttl_secs"),
    ("PORTCULLIS_REFRESH_ABSOLUTE_TTL", "tokens.refresh_absolute_ttl_secs"),
    ("PORTCULLIS_REFRESH_GRACE", "tokens.refresh_grace_ms"),
    ("PORTCULLIS_KEY_ROTATION_DELAY", "tokens.key_rotation_delay_secs"),
    ("PORTCULLIS_KEY_CACHE", "tokens.key_cache_secs"),
    ("PORTCULLIS_KEYS_ROTATE_EVERY", "keys.rotate_every"),
    ("MAIL_SERVER", "mail.server"),
    ("MAIL_PORT", "mail.port"),
    ("MAIL_USERNAME", "mail.username"),
    ("MAIL_PASSWORD", "mail.password"),
    ("MAIL_DEFAULT_SENDER", "mail.default_sender"),
    ("PORTCULLIS_MAIL_TLS", "mail.tls"),
    ("PORTCULLIS_MAIL_SEND_TIMEOUT", "mail.send_timeout_secs"),
    ("PORTCULLIS_MAIL_MAX_ATTEMPTS", "mail.max_attempts"),
    ("PORTCULLIS_MAIL_RETRY_BASE", "mail.retry_base_secs"),
    ("PORTCULLIS_MAIL_RETRY_MAX", "mail.retry_max_secs"),
    ("PORTCULLIS_MAIL_POLL_INTERVAL_MS", "mail.poll_interval_ms"),
];

/// Used as the SMTP password when `MAIL_PASSWORD` is unset (SendGrid/Mailgun style).
pub const API_KEY_VAR: &str = "EMAIL_SERVICE_API_KEY";

fn kind_of(key: &str) -> Kind {
    match key {
        "http.trusted_proxies" => Kind::List,
        "database.migrate_on_start" | "account.require_verified_email" | "http.metrics_enabled" => Kind::Bool,
        "http.hsts_include_subdomains" => Kind::Bool,
        "database.max_connections"
        | "database.acquire_timeout_secs"
        | "http.form_body_limit_bytes"
        | "http.request_timeout_secs"
        | "http.header_read_timeout_secs"
        | "http.max_header_bytes"
        | "http.max_uri_bytes"
        | "http.hsts_max_age_secs"
        | "session.idle_timeout_secs"
        | "session.absolute_timeout_secs"
        | "password.argon2_memory_kib"
        | "password.argon2_iterations"
        | "password.argon2_parallelism"
        | "password.hash_concurrency"
        | "password.min_length"
        | "password.max_bytes"
        | "login.free_failures"
        | "login.ip_max_failures"
        | "login.ip_window_secs"
        | "login.device_cookie_days"
        | "login.max_wait_secs"
        | "login.failure_decay_secs"
        | "account.register_max_per_ip"
        | "account.register_max_global"
        | "account.register_window_secs"
        | "account.verify_token_lifetime_secs"
        | "account.reset_token_lifetime_secs"
        | "account.reset_max_per_address"
        | "account.reset_max_per_ip"
        | "tokens.access_token_ttl_secs"
        | "tokens.id_token_ttl_secs"
        | "tokens.code_ttl_secs"
        | "tokens.refresh_idle_ttl_secs"
        | "tokens.refresh_absolute_ttl_secs"
        | "tokens.refresh_grace_ms"
        | "tokens.key_rotation_delay_secs"
        | "tokens.key_cache_secs"
        | "mail.send_timeout_secs"
        | "mail.max_attempts"
        | "mail.retry_base_secs"
        | "mail.retry_max_secs"
        | "mail.poll_interval_ms"
        | "mail.port" => Kind::Number,
        _ => Kind::Text,
    }
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
                let place = e.metadata.as_ref().and_then(|m| m.source.as_ref()).map(|s| format!(" (from {s})"));
                let key = if e.path.is_empty() { String::new() } else { format!("`{}`: ", e.path.join(".")) };
                format!("{key}{}{}", e.kind, place.unwrap_or_default())
            })
            .collect();
        ConfigError::Invalid(format!("invalid configuration: {}", lines.join("; ")))
    }
}

impl Settings {
    /// The built-in defaults alone, as tests start from.
    pub fn defaults() -> Result<Self, ConfigError> {
        Figment::from(Toml::string(DEFAULT_TOML)).extract::<Settings>()?.checked()
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
        for (var, key) in ENV_VARS {
            if let Some(raw) = env.get(*var) {
                figment = figment.merge(Serialized::default(key, env_value(var, key, raw)?));
            }
        }
        if let (false, Some(key)) = (env.contains_key("MAIL_PASSWORD"), env.get(API_KEY_VAR)) {
            figment = figment.merge(Serialized::default("mail.password", key.clone()));
        }
        let settings: Settings = figment.extract()?;
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

fn env_value(var: &str, key: &str, raw: &str) -> Result<serde_json::Value, ConfigError> {
    let err = |reason: &str| ConfigError::Env { var: var.to_string(), reason: reason.to_string() };
    Ok(match kind_of(key) {
        Kind::Text => serde_json::Value::String(raw.to_string()),
        Kind::Number => raw.trim().parse::<i64>().map(Into::into).map_err(|_| err("expected a whole number"))?,
        Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true.into(),
            "false" | "0" | "no" | "off" => false.into(),
            _ => return Err(err("expected true or false")),
        },
        Kind::List => raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| serde_json::Value::String(s.to_string()))
            .collect::<Vec<_>>()
            .into(),
    })
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
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alg.toml");
        std::fs::write(&path, "[tokens]\naccess_token_alg = \"none\"\n").unwrap();
        let err = Settings::load(Some(&path), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("`tokens.access_token_alg`") && err.contains("\"none\""), "{err}");
    }

    #[test]
    fn a_bad_number_in_the_environment_names_the_variable() {
        let err = Settings::load(None, env(&[("MAIL_PORT", "twenty")])).unwrap_err().to_string();
        assert!(err.contains("MAIL_PORT"), "{err}");
    }
}
