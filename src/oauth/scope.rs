//! Scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII without `"` or `\`.

use std::collections::BTreeSet;
use std::fmt;

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The admin API (`/users`) for a client acting for itself; only clients allowed the
/// first-party API may ask for it.
pub const ADMIN: &str = "admin";
/// The OpenID Connect scopes every client may ask for when it may use OIDC.
pub const OIDC_SCOPES: [&str; 4] = [OPENID, PROFILE, EMAIL, OFFLINE_ACCESS];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if !token.chars().all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c)) {
                return Err("scope contains characters that are not allowed");
            }
            set.insert(token.to_string());
        }
        Ok(Self(set))
    }

    pub fn from_names<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, of: &Scope) -> bool {
        self.0.is_subset(&of.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn without(&self, scope: &str) -> Scope {
        Scope(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_as_sets_and_refuse_bad_characters() {
        let s = Scope::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "email openid");
        assert!(Scope::parse("openid\"x").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("é").is_err());
        assert!(Scope::parse("email").unwrap().is_subset(&s));
    }
}
