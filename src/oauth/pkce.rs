//! PKCE (RFC 7636) with S256 only; `plain` and a missing method are refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secret::{Secret, constant_time_eq};

fn unreserved(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// A code verifier as presented at the token endpoint. Its shape (43–128 unreserved
/// characters) is judged by [`CodeChallenge::verify`], so a malformed one fails like a wrong one.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(Secret);

impl CodeVerifier {
    pub fn new(verifier: &str) -> Self {
        Self(Secret::new(verifier))
    }

    /// The verifier's content, to check against the stored challenge.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// A code challenge: BASE64URL(SHA256(verifier)), always 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, &'static str> {
        match method {
            Some("S256") => {}
            Some("plain") | None => return Err("code_challenge_method must be S256"),
            Some(_) => return Err("unsupported code_challenge_method"),
        }
        if challenge.len() != 43 || !unreserved(challenge) {
            return Err("code_challenge must be 43 base64url characters");
        }
        Ok(Self(challenge.to_string()))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does `verifier` (43–128 unreserved characters) hash to this challenge?
    pub fn verify(&self, verifier: &str) -> bool {
        if !(43..=128).contains(&verifier.len()) || !unreserved(verifier) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        constant_time_eq(&computed, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256")).unwrap();
        assert!(c.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!c.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
        assert!(!c.verify("short"));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::parse(challenge, Some("plain")).is_err());
        assert!(CodeChallenge::parse(challenge, None).is_err());
        assert!(CodeChallenge::parse("too-short", Some("S256")).is_err());
    }
}
