//! E-mail addresses: parsed, not merely matched. The domain is IDNA-encoded and lowercased;
//! the whole address lowercased is the uniqueness key, so one mailbox holds one account.

use std::fmt;

/// A syntactically valid address (RFC 5321 dot-atom local part, DNS domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    normalized: String,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("Enter your e-mail address.");
        }
        if raw.len() > 254 || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("Enter a valid e-mail address.");
        }
        let (local, domain) = raw.rsplit_once('@').ok_or("Enter a valid e-mail address, like name@example.com.")?;
        if !valid_local_part(local) {
            return Err("Enter a valid e-mail address, like name@example.com.");
        }
        let domain = ascii_domain(domain).ok_or("Enter a valid e-mail domain, like example.com.")?;
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err("Enter a valid e-mail address.");
        }
        let normalized = address.to_lowercase();
        Ok(Self { address, normalized })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The uniqueness key.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

/// The domain in lowercase ASCII (internationalized names become punycode), with at least
/// two labels of letters, digits and inner hyphens.
fn ascii_domain(domain: &str) -> Option<String> {
    let url::Host::Domain(ascii) = url::Host::parse(domain).ok()? else {
        return None;
    };
    let labels: Vec<&str> = ascii.split('.').collect();
    let valid = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
    valid.then_some(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized_for_uniqueness() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace@example.com");
        assert_eq!(e.normalized(), "ada.lovelace@example.com");
        assert_eq!(Email::parse("x@bücher.de").unwrap().as_str(), "x@xn--bcher-kva.de");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a..b@example.com",
            ".a@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@example.com\r\nBcc: x@y.z",
            "a@-x.com",
            "a@1.2.3.4",
            "a@[127.0.0.1]",
            "\"q\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
