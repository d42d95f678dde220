//! The environment variables Portcullis reads: one table naming each variable, the setting it
//! overrides and how its text becomes that setting's value.

use super::ConfigError;

/// How an environment variable's text becomes a setting value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Bool,
    /// Comma-separated list of strings.
    List,
}

/// One environment variable and the setting it overrides.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    pub name: &'static str,
    /// The setting's dotted path, as in `config/default.toml`.
    pub key: &'static str,
    pub kind: Kind,
}

/// Every environment variable Portcullis reads, the setting it overrides, and its kind. One
/// special case lives beside its setting: the webhook endpoint of `PORTCULLIS_AUDIT_WEBHOOK_URL`
/// and `…_SECRET` (`config/audit.rs`), an entry of a list rather than one setting.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar { name: "PORTCULLIS_ISSUER", key: "issuer", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_BIND", key: "bind", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_DATA_DIR", key: "data_dir", kind: Kind::Text },
    EnvVar { name: "DATABASE_URL", key: "database_url", kind: Kind::Text },
    EnvVar { name: "SECRET_KEY", key: "secret_key", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_DB_MAX_CONNECTIONS", key: "database.max_connections", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_DB_ACQUIRE_TIMEOUT", key: "database.acquire_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MIGRATE_ON_START", key: "database.migrate_on_start", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_DB_GROUP_COMMIT", key: "database.group_commit", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_LOG_FORMAT", key: "log.format", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_LOG", key: "log.level", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_FORM_BODY_LIMIT", key: "http.form_body_limit_bytes", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REQUEST_TIMEOUT", key: "http.request_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_TRUSTED_PROXIES", key: "http.trusted_proxies", kind: Kind::List },
    EnvVar { name: "PORTCULLIS_METRICS", key: "http.metrics_enabled", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_AUDIT_RETENTION_DAYS", key: "audit.retention_days", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_AUDIT_WEBHOOK_TIMEOUT", key: "audit.webhook_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_AUDIT_WEBHOOK_RETRY_BASE", key: "audit.webhook_retry_base_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_AUDIT_WEBHOOK_RETRY_MAX", key: "audit.webhook_retry_max_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_AUDIT_WEBHOOK_MAX_ATTEMPTS", key: "audit.webhook_max_attempts", kind: Kind::Number },
    EnvVar {
        name: "PORTCULLIS_AUDIT_WEBHOOK_POLL_INTERVAL_MS",
        key: "audit.webhook_poll_interval_ms",
        kind: Kind::Number,
    },
    EnvVar { name: "PORTCULLIS_HEADER_READ_TIMEOUT", key: "http.header_read_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAX_HEADER_BYTES", key: "http.max_header_bytes", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAX_URI_BYTES", key: "http.max_uri_bytes", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_HSTS_MAX_AGE", key: "http.hsts_max_age_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_HSTS_INCLUDE_SUBDOMAINS", key: "http.hsts_include_subdomains", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_SESSION_IDLE_TIMEOUT", key: "session.idle_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_SESSION_ABSOLUTE_TIMEOUT", key: "session.absolute_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_HASH_CONCURRENCY", key: "password.hash_concurrency", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_PASSWORD_MIN_LENGTH", key: "password.min_length", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_PASSWORD_MAX_BYTES", key: "password.max_bytes", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_LOGIN_FREE_FAILURES", key: "login.free_failures", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_LOGIN_IP_MAX_FAILURES", key: "login.ip_max_failures", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_LOGIN_IP_WINDOW", key: "login.ip_window_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_DEVICE_COOKIE_DAYS", key: "login.device_cookie_days", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_LOGIN_MAX_WAIT", key: "login.max_wait_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_LOGIN_FAILURE_DECAY", key: "login.failure_decay_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_NEW_DEVICE_MAIL", key: "login.new_device_mail", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_PASSKEY_RP_ID", key: "account.passkey_rp_id", kind: Kind::Text },
    EnvVar {
        name: "PORTCULLIS_PASSKEY_REFUSE_COUNTER_REGRESSION",
        key: "account.passkey_refuse_counter_regression",
        kind: Kind::Bool,
    },
    EnvVar { name: "PORTCULLIS_REQUIRE_VERIFIED_EMAIL", key: "account.require_verified_email", kind: Kind::Bool },
    EnvVar { name: "PORTCULLIS_VERIFY_TOKEN_LIFETIME", key: "account.verify_token_lifetime_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_RESET_TOKEN_LIFETIME", key: "account.reset_token_lifetime_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_RESET_MAX_PER_ADDRESS", key: "account.reset_max_per_address", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_RESET_MAX_PER_IP", key: "account.reset_max_per_ip", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_TOTP_ISSUER", key: "account.totp_issuer", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_REGISTER_MAX_PER_IP", key: "account.register_max_per_ip", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REGISTER_MAX_GLOBAL", key: "account.register_max_global", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REGISTER_WINDOW", key: "account.register_window_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_ID_TOKEN_ALG", key: "tokens.id_token_alg", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_ACCESS_TOKEN_ALG", key: "tokens.access_token_alg", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_ACCESS_TOKEN_TTL", key: "tokens.access_token_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_ID_TOKEN_TTL", key: "tokens.id_token_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_CODE_TTL", key: "tokens.code_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_DEVICE_CODE_TTL", key: "tokens.device_code_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_DEVICE_POLL_INTERVAL", key: "tokens.device_poll_interval_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REFRESH_IDLE_TTL", key: "tokens.refresh_idle_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REFRESH_ABSOLUTE_TTL", key: "tokens.refresh_absolute_ttl_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_REFRESH_GRACE", key: "tokens.refresh_grace_ms", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_KEY_ROTATION_DELAY", key: "tokens.key_rotation_delay_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_KEY_CACHE", key: "tokens.key_cache_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_KEYS_ROTATE_EVERY", key: "keys.rotate_every", kind: Kind::Text },
    EnvVar { name: "MAIL_SERVER", key: "mail.server", kind: Kind::Text },
    EnvVar { name: "MAIL_PORT", key: "mail.port", kind: Kind::Number },
    EnvVar { name: "MAIL_USERNAME", key: "mail.username", kind: Kind::Text },
    EnvVar { name: "MAIL_PASSWORD", key: "mail.password", kind: Kind::Text },
    EnvVar { name: "MAIL_DEFAULT_SENDER", key: "mail.default_sender", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_MAIL_TLS", key: "mail.tls", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_MAIL_SEND_TIMEOUT", key: "mail.send_timeout_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAIL_MAX_ATTEMPTS", key: "mail.max_attempts", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAIL_RETRY_BASE", key: "mail.retry_base_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAIL_RETRY_MAX", key: "mail.retry_max_secs", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_MAIL_POLL_INTERVAL_MS", key: "mail.poll_interval_ms", kind: Kind::Number },
    EnvVar { name: "PORTCULLIS_BRANDING_PRODUCT_NAME", key: "branding.product_name", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_BRANDING_LOGO", key: "branding.logo", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_BRANDING_FAVICON", key: "branding.favicon", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_BRANDING_PRIMARY_COLOR", key: "branding.primary_color", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_BRANDING_CUSTOM_CSS", key: "branding.custom_css", kind: Kind::Text },
    EnvVar { name: "PORTCULLIS_TEMPLATES_DIR", key: "branding.templates_dir", kind: Kind::Text },
];

/// Used as the SMTP password when `MAIL_PASSWORD` is unset (SendGrid/Mailgun style).
pub const API_KEY_VAR: &str = "EMAIL_SERVICE_API_KEY";

impl EnvVar {
    /// The variable's text as the value of its setting.
    pub(super) fn value(&self, raw: &str) -> Result<serde_json::Value, ConfigError> {
        let err = |reason: &str| ConfigError::Env { var: self.name.to_string(), reason: reason.to_string() };
        Ok(match self.kind {
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
}
