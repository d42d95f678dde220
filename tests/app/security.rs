//! CSRF, security headers and cookie attributes.

use reqwest::header::{HeaderMap, SET_COOKIE};

use crate::helpers::{Backend, PASSWORD, db_test, spawn_app, spawn_app_with};

db_test!(
    async fn state_changing_forms_refuse_a_missing_or_wrong_csrf_token(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let before = app.snapshot().await;
        let forms: [(&str, &[(&str, &str)]); 6] = [
            ("/register", &[("username", "mallory"), ("email", "m@example.com"), ("password", PASSWORD)]),
            ("/login", &[("username", "alice"), ("password", PASSWORD)]),
            ("/logout", &[]),
            ("/profile", &[("display_name", "Hacked")]),
            ("/profile/password", &[("current_password", PASSWORD), ("new_password", "pwned pwned pwned"), ("confirm_password", "pwned pwned pwned")]),
            ("/profile/email", &[("email", "m@evil.test"), ("email_current_password", PASSWORD)]),
        ];
        for (path, fields) in forms {
            let missing = browser.post_form(path, fields).await;
            assert_eq!(missing.status(), 403, "{path} without a token");
            assert!(missing.text().await.unwrap().contains("Form expired"), "{path} explains itself");
            let mut wrong: Vec<(&str, &str)> = vec![("csrf_token", "forged-token-value")];
            wrong.extend_from_slice(fields);
            assert_eq!(browser.post_form(path, &wrong).await.status(), 403, "{path} with a forged token");
        }
        assert_eq!(app.snapshot().await, before, "nothing was written");
        assert_eq!(browser.get("/profile").await.status(), 200, "the forged logout did not sign out");
    }
);

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(get("content-security-policy").contains("frame-ancestors 'none'"), "{what}: CSP");
    assert!(get("content-security-policy").contains("default-src 'none'"), "{what}: CSP default");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("cache-control"), "no-store", "{what}");
    assert!(!get("x-request-id").is_empty(), "{what}: request id");
}

db_test!(
    async fn every_page_sends_the_security_headers(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        for path in ["/", "/login", "/register", "/logout", "/no-such-page", "/health/live"] {
            assert_security_headers(browser.get(path).await.headers(), path);
        }
        let res = browser.register("alice", "alice@example.com", PASSWORD).await;
        assert_security_headers(res.headers(), "POST /register");
        assert_security_headers(browser.get("/profile").await.headers(), "/profile");
        let forbidden = browser.post_form("/logout", &[]).await;
        assert_security_headers(forbidden.headers(), "403 page");
    }
);

fn cookie_lines(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

db_test!(
    async fn cookies_are_http_only_and_same_site_lax(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        let res = browser.get("/login").await;
        let session = cookie_lines(res.headers()).into_iter().find(|c| c.starts_with("portcullis_session=")).unwrap();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(session.contains(attribute), "session cookie has {attribute}: {session}");
        }
        assert!(!session.contains("Secure"), "plain http issuer: no Secure flag");
        browser.register("alice", "alice@example.com", PASSWORD).await;
        let res = browser.login("alice", PASSWORD).await;
        let device = cookie_lines(res.headers()).into_iter().find(|c| c.starts_with("portcullis_device=")).unwrap();
        assert!(device.contains("HttpOnly") && device.contains("SameSite=Lax"), "{device}");
    }
);

#[tokio::test]
async fn an_https_issuer_makes_cookies_secure_with_the_host_prefix() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.issuer = "https://auth.example.test".into()).await;
    let res = app.browser().get("/login").await;
    let session = cookie_lines(res.headers()).into_iter().find(|c| c.contains("portcullis_session=")).unwrap();
    assert!(session.starts_with("__Host-portcullis_session="), "{session}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{attribute}: {session}");
    }
    assert!(!session.contains("Domain="), "__Host- cookies carry no Domain");
}
