//! PKCE S256 (RFC 7636 §4.1, §4.6): a verifier is 43–128 characters of
//! `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`; its challenge is
//! BASE64URL(SHA256(verifier)). Only that verifier matches its challenge, and a verifier of
//! the wrong length or alphabet matches nothing, not even the hash of itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::config;
use crate::oauth::pkce::CodeChallenge;

/// One unreserved character (RFC 3986 §2.3).
const UNRESERVED: &str = "[A-Za-z0-9._~-]";

fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn challenge_of(verifier: &str) -> CodeChallenge {
    CodeChallenge::parse(&s256(verifier), Some("S256")).expect("an S256 challenge parses")
}

fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn the_verifier_matches_its_own_challenge(v in verifier()) {
        prop_assert!(challenge_of(&v).verify(&v));
    }

    #[test]
    fn any_other_verifier_does_not(v in verifier(), other in verifier()) {
        prop_assume!(v != other);
        prop_assert!(!challenge_of(&v).verify(&other));
    }

    #[test]
    fn a_one_character_change_does_not(v in verifier(), at in any::<prop::sample::Index>(), with in UNRESERVED) {
        let i = at.index(v.len());
        let mut near = v.clone();
        near.replace_range(i..=i, &with);
        prop_assume!(near != v);
        prop_assert!(!challenge_of(&v).verify(&near));
    }

    #[test]
    fn a_verifier_of_the_wrong_length_matches_not_even_its_own_hash(
        v in prop_oneof!["[A-Za-z0-9._~-]{0,42}", "[A-Za-z0-9._~-]{129,200}"],
    ) {
        prop_assert!(!challenge_of(&v).verify(&v), "{} characters", v.len());
    }

    #[test]
    fn a_verifier_outside_the_unreserved_set_matches_not_even_its_own_hash(
        v in verifier(),
        at in any::<prop::sample::Index>(),
        bad in any::<char>().prop_filter("not unreserved", |c| !unreserved(*c)),
    ) {
        let i = at.index(v.len());
        let mut poisoned = v.clone();
        poisoned.replace_range(i..=i, bad.encode_utf8(&mut [0; 4]));
        prop_assert!(!challenge_of(&poisoned).verify(&poisoned), "{:?}", poisoned);
    }

    #[test]
    fn only_s256_challenges_of_43_base64url_characters_parse(
        v in verifier(),
        method in prop_oneof![
            Just(None),
            prop::sample::select(vec!["plain", "s256", "S512", "S256 "]).prop_map(|m| Some(m.to_string())),
            "[A-Za-z0-9]{0,8}".prop_map(Some),
        ],
        other in "[A-Za-z0-9+/=_.~-]{0,60}",
    ) {
        let good = s256(&v);
        prop_assert_eq!(CodeChallenge::parse(&good, method.as_deref()).is_ok(), method.as_deref() == Some("S256"));
        let shaped = other.len() == 43 && other.chars().all(unreserved);
        prop_assert_eq!(CodeChallenge::parse(&other, Some("S256")).is_ok(), shaped, "{:?}", other);
    }
}
