//! HTTP-level guarantees: request-head limits answered before routing (431, 414), HSTS for an
//! https issuer, the SECRET_KEY strength rule at start, a sign-in made for a `max_age=0`
//! request counting across a second boundary, and CSP `form-action` allowing the client's
//! origin on every page whose form can end in a redirect to it.

use std::process::Command;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::oidc::{ClientSpec, POST_LOGOUT_URI, REDIRECT_URI, authorize_path, param, pkce};
use crate::helpers::{Backend, PASSWORD, TestApp, db_test, location, spawn_app, spawn_app_with};

/// Writes `request` on a fresh connection and reads everything until the server closes.
async fn raw(app: &TestApp, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect");
    stream.write_all(request).await.expect("the whole request is accepted on the wire");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("the answer is read, not reset");
    String::from_utf8_lossy(&answer).into_owned()
}

/// `GET target` with one padding header, exactly `total` bytes from request line to the
/// empty line.
fn head_of_size(target: &str, total: usize) -> Vec<u8> {
    let start = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Pad: ");
    let end = "\r\n\r\n";
    let pad = total.checked_sub(start.len() + end.len()).expect("room for the padding");
    format!("{start}{}{end}", "a".repeat(pad)).into_bytes()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kb_cookie_on_authorize_is_answered_431_before_routing() {
    let app = spawn_app(Backend::Sqlite).await;
    app.web_client("rp").await;
    let (_, challenge) = pkce();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&authorize_path("rp", &challenge, &[])))
        .header("cookie", format!("big={}", "a".repeat(100 * 1024)))
        .send()
        .await
        .expect("the client receives an answer, not a reset connection");
    assert_eq!(res.status(), 431);
    assert!(res.headers().get("location").is_none(), "not routed to the login page");
    let text = res.text().await.unwrap();
    assert!(text.contains("at most 16384 bytes") && text.len() < 200, "a short text body: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_of_16_kib_is_served_and_one_byte_more_is_431() {
    let app = spawn_app(Backend::Sqlite).await;
    let at_limit = raw(&app, &head_of_size("/health/live", 16 * 1024)).await;
    assert!(status_line(&at_limit).starts_with("HTTP/1.1 200"), "{}", status_line(&at_limit));
    let over = raw(&app, &head_of_size("/health/live", 16 * 1024 + 1)).await;
    assert!(status_line(&over).starts_with("HTTP/1.1 431"), "{}", status_line(&over));
    assert!(body(&over).contains("Request header fields too large"), "{over}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_limit_follows_the_setting() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.http.max_header_bytes = 32 * 1024).await;
    let answer = raw(&app, &head_of_size("/health/live", 20 * 1024)).await;
    assert!(status_line(&answer).starts_with("HTTP/1.1 200"), "{}", status_line(&answer));
    let answer = raw(&app, &head_of_size("/health/live", 32 * 1024 + 1)).await;
    assert!(status_line(&answer).starts_with("HTTP/1.1 431"), "{}", status_line(&answer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_of_8_kib_is_served_and_one_byte_more_is_414() {
    let app = spawn_app(Backend::Sqlite).await;
    let target = |len: usize| format!("/health/live?pad={}", "a".repeat(len - "/health/live?pad=".len()));
    let at_limit = raw(&app, &head_of_size(&target(8 * 1024), 9 * 1024)).await;
    assert!(status_line(&at_limit).starts_with("HTTP/1.1 200"), "{}", status_line(&at_limit));
    let over = raw(&app, &head_of_size(&target(8 * 1024 + 1), 9 * 1024)).await;
    assert!(status_line(&over).starts_with("HTTP/1.1 414"), "{}", status_line(&over));
    assert!(body(&over).contains("at most 8192 bytes"), "{over}");

    let longer_than_the_head_limit = raw(&app, &head_of_size(&target(20 * 1024), 21 * 1024)).await;
    assert!(status_line(&longer_than_the_head_limit).starts_with("HTTP/1.1 414"), "a long URI is a 414, not a 431");

    let res = reqwest::get(app.url(&target(9 * 1024))).await.expect("reqwest receives the answer");
    assert_eq!(res.status(), 414);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_target_later_on_a_kept_alive_connection_is_414_too() {
    let app = spawn_app(Backend::Sqlite).await;
    let long = format!("/health/live?pad={}", "a".repeat(9 * 1024));
    let two = format!(
        "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET {long} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(&app, two.as_bytes()).await;
    let statuses: Vec<&str> = answer.match_indices("HTTP/1.1 ").map(|(i, _)| &answer[i..i + 12]).collect();
    assert_eq!(statuses.len(), 2, "{answer}");
    assert!(statuses[0].starts_with("HTTP/1.1 200") && statuses[1].starts_with("HTTP/1.1 414"), "{statuses:?}");
}

async fn hsts_of(app: &TestApp) -> Vec<(String, Option<String>)> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut seen = Vec::new();
    for path in
        ["/", "/login", "/health/live", "/.well-known/openid-configuration", "/static/style.css", "/no-such-page"]
    {
        let res = client.get(app.url(path)).send().await.unwrap();
        seen.push((
            path.to_string(),
            res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().into()),
        ));
    }
    let token = client.post(app.url("/token")).form(&[("grant_type", "nonsense")]).send().await.unwrap();
    seen.push((
        "POST /token".into(),
        token.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().into()),
    ));
    let refused = raw(app, &head_of_size("/", 17 * 1024)).await;
    let line = refused.lines().find(|l| l.to_ascii_lowercase().starts_with("strict-transport-security:"));
    seen.push(("431 answer".into(), line.map(|l| l.split_once(':').unwrap().1.trim().to_string())));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_https_issuer_every_response_carries_hsts_for_a_year() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.issuer = "https://id.example".into()).await;
    for (what, hsts) in hsts_of(&app).await {
        assert_eq!(hsts.as_deref(), Some("max-age=31536000"), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_max_age_and_include_subdomains_follow_the_settings() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.issuer = "https://id.example".into();
        s.http.hsts_max_age_secs = 600;
        s.http.hsts_include_subdomains = true;
    })
    .await;
    for (what, hsts) in hsts_of(&app).await {
        assert_eq!(hsts.as_deref(), Some("max-age=600; includeSubDomains"), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_http_issuer_no_response_carries_hsts() {
    let app = spawn_app(Backend::Sqlite).await;
    for (what, hsts) in hsts_of(&app).await {
        assert_eq!(hsts, None, "{what}");
    }
}

#[test]
fn the_server_refuses_to_start_with_a_short_or_repetitive_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    for key in ["short-key", &"a".repeat(64)] {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("serve")
            .env_clear()
            .env("PORTCULLIS_DATA_DIR", dir.path())
            // An address this host does not have: a server that got past its settings stops
            // at the bind instead of running.
            .env("PORTCULLIS_BIND", "192.0.2.1:9")
            .env("PORTCULLIS_LOG", "warn")
            .env("SECRET_KEY", key)
            .current_dir(dir.path())
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "a configuration error ({stderr})");
        assert!(stderr.starts_with("error: SECRET_KEY") && stderr.contains("at least 32 bytes"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

db_test!(
    async fn a_sign_in_for_a_max_age_0_request_counts_when_the_clock_ticks_before_the_redirect(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.client("first", ClientSpec { first_party: true, ..Default::default() }).await;
        let (_, challenge) = pkce();
        let browser = app.browser();

        let res = browser.get(&authorize_path("first", &challenge, &[("max_age", "0")])).await;
        let next = param(&format!("http://x{}", location(&res)), "next").expect("sent to sign in");
        let res = browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(location(&res), next, "back to the authorization request");
        app.clock.advance(time::Duration::seconds(1));
        let res = browser.get(&next).await;
        let back = location(&res);
        assert!(back.starts_with(REDIRECT_URI) && param(&back, "code").is_some(), "a code, not the login page: {back}");

        app.clock.advance(time::Duration::seconds(1));
        let again = location(&browser.get(&next).await);
        assert!(again.starts_with("/login") && again.contains("reauth=1"), "that sign-in counted once: {again}");
        let res = browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &next)]).await;
        app.clock.advance(time::Duration::seconds(1));
        let back = location(&browser.get(&location(&res)).await);
        assert!(param(&back, "code").is_some(), "a signed-in user asked to sign in again also gets through: {back}");
    }
);

db_test!(
    async fn a_sign_in_made_for_another_request_does_not_satisfy_max_age(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.client("first", ClientSpec { first_party: true, ..Default::default() }).await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        let other = authorize_path("first", &challenge, &[("state", "other")]);
        browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &other)]).await;
        app.clock.advance(time::Duration::seconds(1));
        let res = browser.get(&authorize_path("first", &challenge, &[("max_age", "0")])).await;
        assert!(location(&res).starts_with("/login"), "{}", location(&res));
    }
);

const RP_FORM_ACTION: &str = "form-action 'self' https://rp.example;";

fn csp(res: &reqwest::Response) -> String {
    res.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A third-party client `rp` and the authorization request a login page returns to.
async fn rp_request(app: &TestApp) -> String {
    app.web_client("rp").await;
    let (_, challenge) = pkce();
    authorize_path("rp", &challenge, &[])
}

fn login_page_for(next: &str) -> String {
    format!("/login?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish())
}

db_test!(
    async fn every_login_page_for_an_authorization_request_allows_the_clients_origin_in_form_action(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let next = rp_request(&app).await;
        let browser = app.browser();

        let first = browser.get(&login_page_for(&next)).await;
        assert_eq!(first.status(), 200);
        assert!(csp(&first).contains(RP_FORM_ACTION), "first view: {}", csp(&first));
        let field_error = browser
            .submit("/login", &[("username", "alice"), ("username", "alice"), ("password", PASSWORD), ("next", &next)])
            .await;
        assert_eq!(field_error.status(), 400, "a field error");
        assert!(csp(&field_error).contains(RP_FORM_ACTION), "field error: {}", csp(&field_error));
        let wrong = browser.submit("/login", &[("username", "alice"), ("password", "wrong"), ("next", &next)]).await;
        assert_eq!(wrong.status(), 401);
        assert!(csp(&wrong).contains(RP_FORM_ACTION), "wrong password: {}", csp(&wrong));
        let empty = browser.submit("/login", &[("username", "alice"), ("password", ""), ("next", &next)]).await;
        assert!(csp(&empty).contains(RP_FORM_ACTION), "empty password: {}", csp(&empty));

        let plain = browser.get("/login").await;
        assert!(csp(&plain).contains("form-action 'self';"), "no client, no origin: {}", csp(&plain));
        let (_, challenge) = pkce();
        let forged = authorize_path("rp", &challenge, &[("redirect_uri", "https://evil.example/cb")]);
        let res = browser.get(&login_page_for(&forged)).await;
        assert!(
            csp(&res).contains("form-action 'self';") && !csp(&res).contains("evil.example"),
            "an unregistered redirect URI is never allowed: {}",
            csp(&res)
        );
    }
);

db_test!(
    async fn login_pages_refusing_an_unverified_address_or_a_flood_allow_the_clients_origin(backend) {
        let app = spawn_app_with(backend, |s| {
            s.account.require_verified_email = true;
            s.login.ip_max_failures = 2;
        })
        .await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let next = rp_request(&app).await;
        let browser = app.browser();
        let unverified = browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(unverified.status(), 403, "e-mail not verified");
        assert!(csp(&unverified).contains(RP_FORM_ACTION), "not verified: {}", csp(&unverified));
        let mut last = None;
        for _ in 0..3 {
            last = Some(browser.submit("/login", &[("username", "x"), ("password", "guess"), ("next", &next)]).await);
        }
        let flooded = last.unwrap();
        assert_eq!(flooded.status(), 429);
        assert!(csp(&flooded).contains(RP_FORM_ACTION), "429: {}", csp(&flooded));
    }
);

db_test!(
    async fn the_second_factor_pages_allow_the_clients_origin_in_form_action(backend) {
        let app = spawn_app(backend).await;
        let setup = app.browser();
        setup.sign_up("alice", "alice@example.com", PASSWORD).await;
        app.enrol(&setup, PASSWORD).await;
        let next = rp_request(&app).await;
        let browser = app.browser();
        let res = browser.submit("/login", &[("username", "alice"), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!(location(&res), "/login/totp");
        let step = browser.get("/login/totp").await;
        assert!(csp(&step).contains(RP_FORM_ACTION), "the code step: {}", csp(&step));
        let wrong = browser.submit("/login/totp", &[("code", "000000")]).await;
        assert_eq!(wrong.status(), 401);
        assert!(csp(&wrong).contains(RP_FORM_ACTION), "a wrong code: {}", csp(&wrong));
        for _ in 0..3 {
            browser.submit("/login/totp", &[("code", "000000")]).await;
        }
        let fifth = browser.submit("/login/totp", &[("code", "000000")]).await;
        assert!(csp(&fifth).contains(RP_FORM_ACTION), "the login page after too many codes: {}", csp(&fifth));
        assert!(fifth.text().await.unwrap().contains("Sign in again"), "that page is the login page");
    }
);

db_test!(
    async fn consent_and_logout_confirmation_allow_the_clients_origin_in_form_action(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let next = rp_request(&app).await;
        let consent = browser.get(&next).await;
        assert_eq!(consent.status(), 200, "the consent page");
        assert!(csp(&consent).contains(RP_FORM_ACTION), "consent: {}", csp(&consent));

        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", "rp")
            .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
            .finish();
        let confirm = browser.get(&format!("/end-session?{q}")).await;
        assert_eq!(confirm.status(), 200, "asked to confirm (no id_token_hint)");
        assert!(csp(&confirm).contains(RP_FORM_ACTION), "logout confirmation: {}", csp(&confirm));
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", "rp")
            .append_pair("post_logout_redirect_uri", "https://evil.example/out")
            .finish();
        let unverified = browser.get(&format!("/end-session?{q}")).await;
        assert!(
            csp(&unverified).contains("form-action 'self';") && !csp(&unverified).contains("evil.example"),
            "an unregistered post-logout URI is not allowed: {}",
            csp(&unverified)
        );
    }
);
