//! Where a browser that must sign in is sent: the login page, with a return address that
//! can only be one of our own paths. Every browser surface sends its visitors there.

use crate::identity::accounts::links::LOGIN;

/// Only our own absolute paths may be a return address (no `//host`, no `/\host`).
pub fn safe_next(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(raw)
}

/// The login page, which returns to `next` (a path [`safe_next`] accepts) afterwards.
pub fn login_url(next: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    format!("{LOGIN}?{query}")
}

/// The login page for an authorization request: forced when it must be fresh, pre-filled
/// with the client's `login_hint`.
pub fn login_url_for(next: &str, reauth: bool, login_hint: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", next);
    if reauth {
        query.append_pair("reauth", "1");
    }
    if let Some(hint) = login_hint {
        query.append_pair("login_hint", hint);
    }
    format!("{LOGIN}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_addresses() {
        assert_eq!(safe_next("/profile"), Some("/profile"));
        assert_eq!(safe_next("/authorize?client_id=x"), Some("/authorize?client_id=x"));
        for bad in ["https://evil.test", "//evil.test", "/\\evil.test", "profile", "/a b", ""] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
