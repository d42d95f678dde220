//! Password policy (NIST SP 800-63B): length, not composition; a blocklist of common
//! passwords with the reason shown; NFKC normalization applied the same way when a password
//! is set and when it is checked; a byte limit checked before any hashing.

mod hasher;
/// Password hashes imported from other systems (bcrypt, PBKDF2, scrypt, argon2).
pub mod legacy;

use std::collections::HashSet;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

pub use hasher::{HashError, PasswordHasher};

use crate::secret::Secret;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt").lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect()
});

/// Limits from configuration.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_bytes: usize,
}

/// Why a new password was refused; the text is shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("Use at least {0} characters.")]
    TooShort(usize),
    #[error("Use at most {0} bytes.")]
    TooLong(usize),
    #[error("This is one of the most common passwords, so attackers try it first. Choose another.")]
    Common,
    #[error("Do not use your username or e-mail address as your password.")]
    SameAsAccount,
    #[error("Remove the control characters (such as tabs or line breaks).")]
    ControlCharacters,
}

/// A password in the form it is hashed and checked in: NFKC-normalized, length-bounded.
#[derive(Debug, Clone)]
pub struct Password(Secret);

impl Password {
    /// A password typed at login or as a "current password": normalized, never judged by
    /// policy (old passwords must keep working), but still bounded before hashing.
    pub fn attempt(raw: &str, policy: &PasswordPolicy) -> Result<Self, PasswordProblem> {
        if raw.len() > policy.max_bytes {
            return Err(PasswordProblem::TooLong(policy.max_bytes));
        }
        Ok(Self(Secret::new(raw.nfkc().collect::<String>())))
    }

    /// A password being set: must satisfy the policy. `account` holds the username and
    /// e-mail, which may not serve as the password.
    pub fn new_for(raw: &str, policy: &PasswordPolicy, account: &[&str]) -> Result<Self, PasswordProblem> {
        let candidate = Self::attempt(raw, policy)?;
        let value = candidate.0.expose();
        if value.chars().any(char::is_control) {
            return Err(PasswordProblem::ControlCharacters);
        }
        if value.chars().count() < policy.min_length {
            return Err(PasswordProblem::TooShort(policy.min_length));
        }
        let lowered = value.to_lowercase();
        if COMMON.contains(lowered.as_str()) {
            return Err(PasswordProblem::Common);
        }
        if account.iter().any(|a| !a.is_empty() && a.to_lowercase() == lowered) {
            return Err(PasswordProblem::SameAsAccount);
        }
        Ok(candidate)
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy { min_length: 8, max_bytes: 1024 };

    #[test]
    fn the_blocklist_holds_at_least_ten_thousand_passwords() {
        assert!(COMMON.len() >= 10_000, "{}", COMMON.len());
        assert!(COMMON.contains("password"));
    }

    #[test]
    fn new_passwords_are_judged_by_length_and_commonness_only() {
        let cases: &[(&str, Result<(), PasswordProblem>)] = &[
            ("correct horse battery staple", Ok(())),
            ("lowercaseonlyisfine", Ok(())),
            ("short", Err(PasswordProblem::TooShort(8))),
            ("password", Err(PasswordProblem::Common)),
            ("Password1", Err(PasswordProblem::Common)),
            ("iloveyou", Err(PasswordProblem::Common)),
            ("alice-the-user", Err(PasswordProblem::SameAsAccount)),
            ("tab\there-password", Err(PasswordProblem::ControlCharacters)),
        ];
        for (raw, expected) in cases {
            let got = Password::new_for(raw, &POLICY, &["alice-the-user"]).map(|_| ());
            assert_eq!(&got, expected, "case {raw:?}");
        }
    }

    #[test]
    fn length_counts_characters_but_the_limit_counts_bytes() {
        assert!(Password::new_for("ééééééé", &POLICY, &[]).is_err(), "7 characters");
        assert!(Password::new_for("éééééééé", &POLICY, &[]).is_ok(), "8 characters, 16 bytes");
        let long = "a".repeat(1025);
        assert_eq!(Password::new_for(&long, &POLICY, &[]).unwrap_err(), PasswordProblem::TooLong(1024));
        assert!(Password::attempt(&long, &POLICY).is_err());
        assert!(Password::new_for(&"a".repeat(64), &POLICY, &[]).is_ok(), "64 characters are allowed");
    }

    #[test]
    fn normalization_makes_equivalent_forms_one_password() {
        let composed = Password::attempt("caf\u{e9}-latte-42", &POLICY).unwrap();
        let decomposed = Password::attempt("cafe\u{301}-latte-42", &POLICY).unwrap();
        assert_eq!(composed.expose(), decomposed.expose());
    }
}
