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
        let lines = cookie_lines(res.headers());
        assert!(!lines.iter().any(|c| c.contains("portcullis_session=")), "the form alone opens no session: {lines:?}");
        let csrf = lines.iter().find(|c| c.starts_with("portcullis_csrf=")).expect("the CSRF seed cookie");
        browser.register("alice", "alice@example.com", PASSWORD).await;
        let res = browser.login("alice", PASSWORD).await;
        let lines = cookie_lines(res.headers());
        let session = lines.iter().find(|c| c.starts_with("portcullis_session=")).expect("the sign-in's session");
        for (name, cookie) in [("session", session), ("CSRF seed", csrf)] {
            for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
                assert!(cookie.contains(attribute), "{name} cookie has {attribute}: {cookie}");
            }
            assert!(!cookie.contains("Secure"), "plain http issuer: no Secure flag on the {name} cookie");
            assert!(!cookie.contains("Expires=") && !cookie.contains("Max-Age="), "a browser-session {name} cookie");
        }
        let device = lines.iter().find(|c| c.starts_with("portcullis_device=")).unwrap();
        assert!(device.contains("HttpOnly") && device.contains("SameSite=Lax"), "{device}");
    }
);

/// GET the form at `path`, then POST `fields` with its token and the seed cookie it set,
/// by hand: a cookie jar sends no Secure cookie back over a test's plain http. Returns the
/// form's seed cookie line and the POST's answer.
async fn by_hand(app: &crate::helpers::TestApp, path: &str, fields: &[(&str, &str)]) -> (String, reqwest::Response) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(app.url(path)).send().await.unwrap();
    let csrf = cookie_lines(res.headers()).into_iter().find(|c| c.contains("portcullis_csrf=")).unwrap();
    let token = crate::helpers::csrf_in(&res.text().await.unwrap()).unwrap();
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    let seed = csrf.split(';').next().unwrap().to_string();
    let res = client.post(app.url(path)).header(reqwest::header::COOKIE, seed).form(&form).send().await.unwrap();
    (csrf, res)
}

#[tokio::test]
async fn an_https_issuer_makes_cookies_secure_with_the_host_prefix() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.issuer = "https://auth.example.test".into()).await;
    let signup = [("username", "alice"), ("email", "alice@example.com"), ("display_name", ""), ("password", PASSWORD)];
    assert_eq!(by_hand(&app, "/register", &signup).await.1.status(), 200, "registered with the __Host- seed cookie");
    let (csrf, res) = by_hand(&app, "/login", &[("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), 303, "signed in with the __Host- seed cookie");
    let session = cookie_lines(res.headers()).into_iter().find(|c| c.contains("portcullis_session=")).unwrap();
    for (name, cookie) in [("__Host-portcullis_session=", &session), ("__Host-portcullis_csrf=", &csrf)] {
        assert!(cookie.starts_with(name), "{cookie}");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{attribute}: {cookie}");
        }
        assert!(!cookie.contains("Domain="), "__Host- cookies carry no Domain");
    }
}
