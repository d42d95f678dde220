//! Checks of the HTTP hardening settings and the SECRET_KEY strength rule, and the HSTS value
//! they produce: kept beside `config.rs` so that file stays a list of settings.

use super::{ConfigError, HttpSettings, Settings};

/// The request-head limit hyper can honour (its read buffer is at least 8 KiB) and a sane top.
pub const MIN_HEADER_BYTES: usize = 8192;
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// A configured `SECRET_KEY` must be at least this long (bytes)…
pub const SECRET_KEY_MIN_BYTES: usize = 32;
/// … and use at least this many different byte values (refuses `aaaa…`, `abab…`).
pub const SECRET_KEY_MIN_DISTINCT: usize = 8;

/// Refuses a configured key that is short or obviously low in entropy. Empty means "not set"
/// (a key is then generated into the data directory).
pub(super) fn secret_key(key: &str) -> Result<(), ConfigError> {
    if key.is_empty() {
        return Ok(());
    }
    let distinct = key.bytes().collect::<std::collections::HashSet<u8>>().len();
    if key.len() < SECRET_KEY_MIN_BYTES || distinct < SECRET_KEY_MIN_DISTINCT {
        return Err(ConfigError::Invalid(format!(
            "SECRET_KEY (`secret_key`) is too weak: it must be at least {SECRET_KEY_MIN_BYTES} bytes with at least \
             {SECRET_KEY_MIN_DISTINCT} different characters (it has {} bytes, {distinct} different); generate one \
             with `openssl rand -base64 48`",
            key.len()
        )));
    }
    Ok(())
}

/// Head limits hyper can honour, and a target limit inside the head limit.
pub(super) fn http_limits(h: &HttpSettings) -> Result<(), ConfigError> {
    if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&h.max_header_bytes) {
        return Err(ConfigError::Invalid(format!(
            "`http.max_header_bytes`: between {MIN_HEADER_BYTES} and {MAX_HEADER_BYTES}"
        )));
    }
    if !(256..=h.max_header_bytes).contains(&h.max_uri_bytes) {
        return Err(ConfigError::Invalid("`http.max_uri_bytes`: between 256 and http.max_header_bytes".into()));
    }
    Ok(())
}

impl Settings {
    /// The `Strict-Transport-Security` value every response carries, when the issuer is https
    /// (never over plain http: browsers ignore it there, and a local setup must stay reachable).
    pub fn hsts(&self) -> Option<String> {
        self.secure_cookies().then(|| {
            let subdomains = if self.http.hsts_include_subdomains { "; includeSubDomains" } else { "" };
            format!("max-age={}{subdomains}", self.http.hsts_max_age_secs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_short_or_repetitive_secret_key_is_refused_with_an_error_naming_secret_key() {
        for (case, key) in [
            ("short", "0123456789abcdef"),
            ("31 bytes", "0123456789abcdefghijklmnopqrstu"),
            ("one character repeated", &"a".repeat(64)),
            ("two characters alternating", &"ab".repeat(32)),
            ("seven distinct characters", &"abcdefg".repeat(8)),
        ] {
            let err = Settings::load(None, env(&[("SECRET_KEY", key)])).unwrap_err().to_string();
            assert!(err.contains("SECRET_KEY") && err.contains("too weak"), "{case}: {err}");
            assert_eq!(err.lines().count(), 1, "{case}: one line");
        }
        for (case, key) in [
            ("32 bytes, 32 distinct", "0123456789abcdefghijklmnopqrstuv"),
            ("openssl rand -base64 48", "k3J9vQ2mX8pL5nR7tY1wZ4bC6dF0gH2jK8sM3qV5xN7uE9rT1yA4zB6cD0fG2hJ"),
            ("the test harness key", "test-secret-key-test-secret-key-0123456789"),
            ("the e2e key", "e2e-secret-key-e2e-secret-key-e2e-secret-key"),
        ] {
            assert!(Settings::load(None, env(&[("SECRET_KEY", key)])).is_ok(), "{case}");
        }
        assert!(Settings::load(None, env(&[("SECRET_KEY", "")])).is_ok(), "empty: generated into data_dir");
    }

    #[test]
    fn hsts_is_sent_only_for_an_https_issuer_with_the_configured_max_age() {
        let http = Settings::defaults().unwrap();
        assert_eq!(http.hsts(), None, "never over plain http");
        let https = Settings::load(None, env(&[("PORTCULLIS_ISSUER", "https://id.example")])).unwrap();
        assert_eq!(https.hsts().as_deref(), Some("max-age=31536000"), "one year, no includeSubDomains");
        let tuned = Settings::load(
            None,
            env(&[
                ("PORTCULLIS_ISSUER", "https://id.example"),
                ("PORTCULLIS_HSTS_MAX_AGE", "600"),
                ("PORTCULLIS_HSTS_INCLUDE_SUBDOMAINS", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(tuned.hsts().as_deref(), Some("max-age=600; includeSubDomains"));
    }

    #[test]
    fn request_head_limits_default_to_16_kib_and_8_kib_and_are_bounded() {
        let s = Settings::defaults().unwrap();
        assert_eq!((s.http.max_header_bytes, s.http.max_uri_bytes), (16384, 8192));
        let s = Settings::load(
            None,
            env(&[("PORTCULLIS_MAX_HEADER_BYTES", "32768"), ("PORTCULLIS_MAX_URI_BYTES", "2048")]),
        )
        .unwrap();
        assert_eq!((s.http.max_header_bytes, s.http.max_uri_bytes), (32768, 2048));
        let err = Settings::load(None, env(&[("PORTCULLIS_MAX_HEADER_BYTES", "4096")])).unwrap_err().to_string();
        assert!(err.contains("http.max_header_bytes"), "{err}");
        let err = Settings::load(None, env(&[("PORTCULLIS_MAX_URI_BYTES", "20000")])).unwrap_err().to_string();
        assert!(err.contains("http.max_uri_bytes"), "{err}");
    }
}
