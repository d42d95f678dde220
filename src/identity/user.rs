//! The user record and the value types a registration is made of.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::email::Email;

/// A user's stable identifier (UUID v7). It becomes the OIDC `sub` and is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(Uuid);

impl UserId {
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A user as the rest of the application sees it: never with its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The language the person chose (profile, picker, API); `None`: the browser decides.
    pub locale: Option<crate::i18n::Lang>,
}

impl User {
    /// What to call the user on a page: the display name, or the username without one.
    pub fn name(&self) -> &str {
        if self.display_name.is_empty() { &self.username } else { &self.display_name }
    }
}

/// What a registration stores, every part already validated.
/// An administrator's changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct AdminChanges {
    pub display_name: Option<DisplayName>,
    pub email: Option<Email>,
    pub is_admin: Option<bool>,
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub display_name: DisplayName,
    pub is_admin: bool,
    pub email_verified: bool,
}

/// A login name: 3–32 characters of lowercase letters, digits, `.`, `_` and `-`, starting
/// with a letter or digit. Input is NFKC-normalized and lowercased, so `Alice` and `alice`
/// are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value: String = raw.trim().nfkc().collect::<String>().to_lowercase();
        let len = value.chars().count();
        if len < 3 {
            return Err("Use at least 3 characters.");
        }
        if len > 32 {
            return Err("Use at most 32 characters.");
        }
        if !value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err("Use only letters, digits, dots, underscores and hyphens.");
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err("Start with a letter or a digit.");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown on pages and in the `name` claim: up to 64 characters, no control
/// characters. Empty means "use the username".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value: String = raw.trim().nfkc().collect();
        if value.chars().count() > 64 {
            return Err("Use at most 64 characters.");
        }
        if value.chars().any(char::is_control) {
            return Err("Remove the control characters.");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalized_and_checked() {
        assert_eq!(Username::parse("  Alice ").unwrap().as_str(), "alice");
        assert_eq!(Username::parse("ｂｏｂ").unwrap().as_str(), "bob", "fullwidth letters fold under NFKC");
        for bad in ["ab", "a b c", "_alice", "alice@example.com", &"x".repeat(33), "élodie"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_names_refuse_control_characters_and_length() {
        assert_eq!(DisplayName::parse(" Ada Lovelace ").unwrap().as_str(), "Ada Lovelace");
        assert!(DisplayName::parse("a\u{7}b").is_err());
        assert!(DisplayName::parse(&"x".repeat(65)).is_err());
    }
}
