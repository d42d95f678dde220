//! The Content-Security-Policy of our pages: the default every response gets (see
//! `layers::security_headers`), and its one per-response widening, `form-action` for a
//! client's verified redirect URI, which the pages and the OAuth browser endpoints apply.

use axum::http::{HeaderValue, header};

/// The default policy: no scripts at all, our own styles and images, forms post to us.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The page CSP with `form-action` widened to the origin of `redirect_uri`, a client's
/// verified redirect URI (or post-logout redirect URI). Chromium applies `form-action` to
/// every redirect that follows a form submission, so a page whose form can end at the client
/// (login, second factor, consent, logout confirmation) must allow that origin, and only it.
/// Without one, the page keeps the default `form-action 'self'`.
pub fn with_form_action(mut res: axum::response::Response, redirect_uri: Option<&str>) -> axum::response::Response {
    let Some(source) = redirect_uri.and_then(form_action_source) else { return res };
    let policy = CSP.replacen("form-action 'self'", &format!("form-action 'self' {source}"), 1);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

/// The policy of a page that loads our own script (`/static/passkeys.js`): `script-src
/// 'self'` and `connect-src 'self'` (its ceremony requests) added to whatever policy the
/// response carries; still no inline script, no other origin.
pub fn with_scripts(mut res: axum::response::Response) -> axum::response::Response {
    let current = res.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or(CSP);
    let policy =
        current.replacen("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';", 1);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    res
}

/// The CSP source for a URL: its origin (`https://rp.example:8443`), or `scheme:` for a
/// private-use scheme, which has no host. The URL parser guarantees no spaces or `;`.
fn form_action_source(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_allows_the_verified_redirect_uris_origin_only() {
        let csp = |uri: Option<&str>| {
            let res = with_form_action(axum::response::Response::new(axum::body::Body::empty()), uri);
            res.headers().get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(csp(None), None, "no client: the default policy applies");
        let policy = csp(Some("https://rp.example/callback?x=1")).unwrap();
        assert!(policy.contains("form-action 'self' https://rp.example;"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let policy = csp(Some("http://127.0.0.1:4567/cb")).unwrap();
        assert!(policy.contains("form-action 'self' http://127.0.0.1:4567;"), "{policy}");
        let policy = csp(Some("com.example.app:/callback")).unwrap();
        assert!(policy.contains("form-action 'self' com.example.app:;"), "{policy}");
        assert_eq!(csp(Some("not a url")), None);
    }
}
