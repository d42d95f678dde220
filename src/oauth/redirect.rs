//! Redirect URIs: checked when a client is registered, then compared by exact string
//! (RFC 9700 §4.1.3). The one exception (RFC 8252 §7.3): a public native client's loopback
//! URI may come back on any port.

use std::fmt;

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// For registration: absolute, no fragment, no user info; https, or http on a loopback
    /// address, or a private-use scheme with a dot (`com.example.app:/cb`, RFC 8252 §7.1).
    pub fn register(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not an absolute URI ({e})"))?;
        if raw.contains('#') {
            return Err(format!("{raw:?}: redirect URIs may not have a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{raw:?}: redirect URIs may not carry user information"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(format!("{raw:?}: plain http is allowed for loopback addresses only")),
            "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
                return Err(format!("{raw:?}: the {} scheme is not allowed", url.scheme()));
            }
            scheme if scheme.contains('.') => {}
            scheme => {
                return Err(format!(
                    "{raw:?}: the {scheme} scheme is not allowed (use https, loopback http, or a reverse-domain scheme)"
                ));
            }
        }
        Ok(Self(raw.to_string()))
    }

    /// A stored value, trusted as registered.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does the URI a request names match this registration?
    pub fn matches(&self, requested: &str, public_client: bool) -> bool {
        if self.0 == requested {
            return true;
        }
        if !public_client {
            return false;
        }
        // Loopback redirect of a native app: equal but for the port.
        let (Ok(registered), Ok(asked)) = (Url::parse(&self.0), Url::parse(requested)) else { return false };
        if registered.scheme() != "http" || !is_loopback(&registered) || asked.scheme() != "http" {
            return false;
        }
        let strip = |u: &Url| {
            let mut u = u.clone();
            let _ = u.set_port(None);
            u.to_string()
        };
        // Compare the strings as sent, too, so encodings and dot segments cannot sneak in.
        let same_text_but_port = strip_port_text(&self.0) == strip_port_text(requested);
        same_text_but_port && strip(&registered) == strip(&asked) && registered.host() == asked.host()
    }
}

fn strip_port_text(raw: &str) -> String {
    // http://127.0.0.1:1234/cb -> http://127.0.0.1/cb (text only; used after both parsed).
    // The authority ends at the first `/`, `?` or `#`, and only `:` with ASCII digits is a
    // port: a tab or newline in it (which URL parsers drop) leaves the text unequal.
    let Some(rest) = raw.strip_prefix("http://") else { return raw.to_string() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = match authority.rfind(':') {
        Some(i) if authority.len() > i + 1 && authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &authority[..i],
        _ => authority,
    };
    format!("http://{host}{tail}")
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_refuses_dangerous_and_sloppy_uris() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "com.example.app:/oauth",
            "https://app.example/cb?x=1",
        ] {
            assert!(RedirectUri::register(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "/relative",
            "https://user:pw@app.example/cb",
            "myapp:/cb",
            "file:///etc/passwd",
        ] {
            assert!(RedirectUri::register(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_and_near_misses_fail() {
        let r = RedirectUri::register("https://app.example/cb").unwrap();
        assert!(r.matches("https://app.example/cb", false));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb/extra",
            "https://app.example/cb/..;/x",
            "https://app.example/cb%2F..",
            "https://app.example/cb?x=1",
            "https://app.example/cb#x",
            "https://APP.example/cb",
            "https://app.example:443/cb",
            "http://app.example/cb",
            "https://app.example@evil.test/cb",
            "https://app.example.evil.test/cb",
            "https://evilapp.example/cb",
            "https://app.example/CB",
        ] {
            assert!(!r.matches(near, false), "confidential: {near}");
            assert!(!r.matches(near, true), "public: {near}");
        }
    }

    #[test]
    fn public_loopback_clients_may_use_any_port_and_nothing_else() {
        let r = RedirectUri::register("http://127.0.0.1/callback").unwrap();
        assert!(r.matches("http://127.0.0.1:51234/callback", true));
        assert!(!r.matches("http://127.0.0.1:51234/callback", false), "confidential clients match exactly");
        for bad in [
            "http://127.0.0.1:51234/other",
            "http://localhost:51234/callback",
            "http://127.0.0.2:5/callback",
            "https://127.0.0.1:5/callback",
            "http://127.0.0.1:5/callback?x",
        ] {
            assert!(!r.matches(bad, true), "{bad}");
        }
    }
}
