//! Stateless CSRF tokens for every browser form (signed double-submit), so showing a form
//! stores nothing: an anonymous `GET /login` creates no session row.
//!
//! The browser holds a random *seed* in its own cookie (`portcullis_csrf`, `__Host-` under
//! https; HttpOnly, SameSite=Lax, a browser-session cookie). A form carries
//! `HMAC-SHA256(K, "csrf/v1|" seed "|" binding)`, where `K` is derived from `SECRET_KEY`
//! for this purpose only, and `binding` names the session's sign-in: `anonymous` before one,
//! `signed-in:<sid>` after it (the sign-in's random id, new at every sign-in). So:
//! * a forged token fails (no `K`), and so does another browser's (its seed differs);
//! * a token shown before a sign-in opens nothing after it (the binding changed), as the
//!   session-kept token that was replaced at login did before;
//! * the seed alone is no token, and the token alone without the victim's cookie is none.
//!
//! Tokens are compared in constant time.

use tower_cookies::Cookies;
use tower_cookies::cookie::{Cookie, SameSite};

use crate::crypto::KeyedHash;
use crate::secret::{constant_time_eq, random_token};

/// The seed cookie's name without its `__Host-` prefix (the session module adds it under https).
pub const COOKIE_BASE: &str = "portcullis_csrf";
/// A seed is what [`random_token`] makes: 32 bytes, base64url without padding.
const SEED_LEN: usize = 43;
/// What the key is derived for (`portcullis/<purpose>/v1`).
pub const KEY_PURPOSE: &str = "csrf";

/// Which sign-in a token is good for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Nobody is signed in on this browser session (or only a second factor is pending).
    Anonymous,
    /// The sign-in with this `sid`.
    SignedIn(String),
}

impl Binding {
    fn label(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".into(),
            Self::SignedIn(sid) => format!("signed-in:{sid}"),
        }
    }
}

fn well_formed(seed: &str) -> bool {
    seed.len() == SEED_LEN && seed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The seed cookie (named `name`) of this request, when it has a well-formed one (one set
/// earlier in the same response counts too).
fn seed(cookies: &Cookies, name: &str) -> Option<String> {
    let cookie = cookies.get(name)?;
    well_formed(cookie.value()).then(|| cookie.value().to_string())
}

fn token(key: &KeyedHash, seed: &str, binding: &Binding) -> anyhow::Result<String> {
    key.hash(&format!("csrf/v1|{seed}|{}", binding.label()))
}

/// The cookie that carries the seed: its `name` (`__Host-` prefixed under https, see
/// `session::cookie_name`) and whether it is `secure`.
#[derive(Debug, Clone)]
pub struct SeedCookie {
    pub name: String,
    pub secure: bool,
}

/// The token for this page's forms; gives the browser a seed cookie first if it has none.
pub fn issue(key: &KeyedHash, cookies: &Cookies, jar: &SeedCookie, binding: &Binding) -> anyhow::Result<String> {
    let seed = match seed(cookies, &jar.name) {
        Some(seed) => seed,
        None => {
            let seed = random_token();
            let cookie = Cookie::build((jar.name.clone(), seed.clone()))
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(jar.secure)
                .path("/")
                .build();
            cookies.add(cookie);
            seed
        }
    };
    token(key, &seed, binding)
}

/// Whether `submitted` is the token of this browser's seed for `binding`; false without a
/// seed cookie or with an empty token.
pub fn verify(
    key: &KeyedHash,
    cookies: &Cookies,
    jar: &SeedCookie,
    binding: &Binding,
    submitted: &str,
) -> anyhow::Result<bool> {
    let Some(seed) = seed(cookies, &jar.name) else { return Ok(false) };
    if submitted.is_empty() {
        return Ok(false);
    }
    Ok(constant_time_eq(&token(key, &seed, binding)?, submitted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn plain() -> SeedCookie {
        SeedCookie { name: COOKIE_BASE.into(), secure: false }
    }

    fn key(root: &str) -> KeyedHash {
        KeyedHash::derive(&Secret::new(root), KEY_PURPOSE).unwrap()
    }

    fn browser_with(seed: &str) -> Cookies {
        let cookies = Cookies::default();
        cookies.add(Cookie::new("portcullis_csrf", seed.to_string()));
        cookies
    }

    #[test]
    fn a_token_verifies_only_with_its_seed_binding_and_key() {
        let (k, seed) = (key("root-key-one-root-key-one-root-key-one"), random_token());
        let cookies = browser_with(&seed);
        let t = issue(&k, &cookies, &plain(), &Binding::Anonymous).unwrap();
        assert!(verify(&k, &cookies, &plain(), &Binding::Anonymous, &t).unwrap(), "its own browser");
        let other = browser_with(&random_token());
        assert!(!verify(&k, &other, &plain(), &Binding::Anonymous, &t).unwrap(), "another browser's seed");
        let signed_in = Binding::SignedIn("sid-1".into());
        assert!(!verify(&k, &cookies, &plain(), &signed_in, &t).unwrap(), "after a sign-in");
        let other_key = key("root-key-two-root-key-two-root-key-two");
        assert!(!verify(&other_key, &cookies, &plain(), &Binding::Anonymous, &t).unwrap(), "another SECRET_KEY");
        assert!(!verify(&k, &cookies, &plain(), &Binding::Anonymous, "").unwrap(), "an empty token");
        assert!(!verify(&k, &cookies, &plain(), &Binding::Anonymous, &seed).unwrap(), "the seed itself");
    }

    #[test]
    fn a_browser_without_a_seed_gets_one_and_no_token_verifies_without_it() {
        let k = key("root-key-one-root-key-one-root-key-one");
        let cookies = Cookies::default();
        assert!(!verify(&k, &cookies, &plain(), &Binding::Anonymous, "x").unwrap());
        let t = issue(&k, &cookies, &plain(), &Binding::Anonymous).unwrap();
        let seed = cookies.get("portcullis_csrf").expect("a seed cookie was set").value().to_string();
        assert!(well_formed(&seed));
        assert_eq!(issue(&k, &cookies, &plain(), &Binding::Anonymous).unwrap(), t, "the same seed within a response");
        let malformed = browser_with("short");
        assert!(!verify(&k, &malformed, &plain(), &Binding::Anonymous, &t).unwrap(), "a malformed seed is none");
    }
}
