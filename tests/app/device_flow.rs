//! The device authorization grant (RFC 8628). An independent client (the `openidconnect`
//! crate's device flow) runs the happy path while a person approves on `/device`; raw
//! requests reach every error state of §3.5; an approved code is redeemed once and never by
//! another client; wrong user codes are throttled.

use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata};
use openidconnect::{ClientId, DeviceAuthorizationUrl, IssuerUrl, Nonce, OAuth2TokenResponse, Scope, TokenResponse};
use serde_json::Value;

use crate::helpers::oidc::{ClientSpec, TestClient, rp_http};
use crate::helpers::{Browser, PASSWORD, TestApp, between, csrf_in, db_test, spawn_app};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public device client (a TV app): the device grant (named as the CLI does) and refresh.
async fn tv_client(app: &TestApp, id: &str) -> TestClient {
    app.client(id, ClientSpec { public: true, grants: &["device_code", "refresh_token"], ..Default::default() }).await
}

async fn start(app: &TestApp, client: &TestClient, scope: &str) -> (u16, Value) {
    let res = app.token_request("/device/authorize", client, &[("scope", scope)]).await;
    assert_eq!(res.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

async fn poll(app: &TestApp, client: &TestClient, device_code: &str) -> (u16, Value) {
    let res = app.token_request("/token", client, &[("grant_type", DEVICE_GRANT), ("device_code", device_code)]).await;
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

fn error_of(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("(none)"))
}

/// The person's part: enter the code on `/device`, then allow or deny. Returns the page.
async fn answer(browser: &Browser, user_code: &str, decision: &str) -> String {
    let confirm = browser.submit("/device", &[("user_code", user_code)]).await;
    assert_eq!(confirm.status(), 200, "the code is found");
    let html = confirm.text().await.unwrap();
    let csrf = csrf_in(&html).unwrap();
    let res = browser
        .post_form("/device/decision", &[("csrf_token", &csrf), ("user_code", user_code), ("decision", decision)])
        .await;
    assert_eq!(res.status(), 200, "the answer is taken");
    res.text().await.unwrap()
}

async fn signed_in(app: &TestApp, name: &str) -> Browser {
    let browser = app.browser();
    browser.sign_up(name, &format!("{name}@example.com"), PASSWORD).await;
    browser
}

db_test!(
    async fn a_device_client_library_signs_in_once_the_person_approves_on_the_device_page(backend) {
        let app = spawn_app(backend).await;
        let person = signed_in(&app, "alice").await;
        let registered = tv_client(&app, "tv").await;
        let http = rp_http();

        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http).await.unwrap();
        let doc: Value = reqwest::get(app.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        let endpoint = doc["device_authorization_endpoint"].as_str().expect("discovery names the device endpoint");
        assert_eq!(endpoint, app.url("/device/authorize"));
        assert!(doc["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(registered.id.clone()), None)
            .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint.to_string()).unwrap());

        let details: CoreDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .request_async(&http)
            .await
            .expect("the device authorization request succeeds");
        let user_code = details.user_code().secret().clone();
        assert_eq!(details.verification_uri().as_str(), app.url("/device"));
        let complete = details.verification_uri_complete().expect("a complete URI").secret().clone();
        assert!(complete.starts_with(&app.url("/device?user_code=")), "{complete}");
        assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
        assert_eq!(details.interval().as_secs(), 5);

        // The device polls; each of its waits moves the server's clock by the interval.
        let clock = app.clock.clone();
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = polls.clone();
        let sleep = move |d: std::time::Duration| {
            clock.advance(time::Duration::try_from(d).unwrap());
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(30))
        };
        let polling = async {
            client
                .exchange_device_access_token(&details)
                .unwrap()
                .request_async(&http, sleep, Some(std::time::Duration::from_secs(3600)))
                .await
        };
        let person_part = async {
            // The link with the code opens a form filled in with it, which the person confirms.
            let form = person.text(complete.strip_prefix(&app.issuer).unwrap()).await;
            assert!(form.contains(&format!("value=\"{user_code}\"")), "the form carries the code");
            while polls.load(std::sync::atomic::Ordering::SeqCst) < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let page = answer(&person, &user_code, "allow").await;
            assert!(page.contains("Device allowed"), "{page}");
        };
        let (tokens, ()) = tokio::join!(polling, person_part);
        let tokens = tokens.expect("the device gets its tokens");
        assert!(polls.load(std::sync::atomic::Ordering::SeqCst) >= 2, "it heard authorization_pending first");

        let id_token = tokens.id_token().expect("an ID token (openid)");
        let no_nonce = |n: Option<&Nonce>| if n.is_none() { Ok(()) } else { Err("a device ID token has no nonce".to_string()) };
        let claims = id_token.claims(&client.id_token_verifier(), no_nonce).expect("the ID token verifies against the JWKS");
        assert_eq!(claims.subject().as_str(), app.user_id("alice").await);
        assert_eq!(claims.audiences()[0].as_str(), "tv");
        assert_eq!(app.userinfo_status(tokens.access_token().secret()).await, 200);
        let scopes: Vec<String> = tokens.scopes().unwrap().iter().map(|s| s.to_string()).collect();
        assert!(scopes.contains(&"profile".to_string()), "{scopes:?}");
        let refresh = tokens.refresh_token().expect("a refresh token");
        let refreshed = client.exchange_refresh_token(refresh).unwrap().request_async(&http).await;
        assert!(refreshed.is_ok(), "the device's refresh token works: {refreshed:?}");
        assert_eq!(app.count("audit_events WHERE kind = 'device_authorization.approved'").await, 1);
    }
);

db_test!(
    async fn every_device_flow_error_state_is_reached_as_rfc_8628_says(backend) {
        let app = spawn_app(backend).await;
        let person = signed_in(&app, "bob").await;
        let tv = tv_client(&app, "tv").await;

        // The device authorization request itself.
        let web = app.web_client("web").await;
        assert_eq!(error_of(&start(&app, &web, "openid").await), (400, "unauthorized_client"), "no device grant");
        assert_eq!(error_of(&start(&app, &tv, "openid admin").await), (400, "invalid_scope"), "a scope not allowed");
        let stranger = TestClient { id: "nobody".into(), secret: None };
        assert_eq!(error_of(&start(&app, &stranger, "openid").await), (401, "invalid_client"), "unknown client");

        let (status, started) = start(&app, &tv, "openid profile").await;
        assert_eq!(status, 200, "{started}");
        let device_code = started["device_code"].as_str().unwrap();
        assert_eq!(started["expires_in"], 600);
        assert_eq!(started["interval"], 5);

        // Pending, then too fast (the interval grows by 5 s), then pending again once it waits.
        assert_eq!(error_of(&poll(&app, &tv, device_code).await), (400, "authorization_pending"), "first poll");
        assert_eq!(error_of(&poll(&app, &tv, device_code).await), (400, "slow_down"), "at once again");
        app.clock.advance(time::Duration::seconds(6));
        assert_eq!(error_of(&poll(&app, &tv, device_code).await), (400, "slow_down"), "6 s < the raised 10 s");
        app.clock.advance(time::Duration::seconds(15));
        assert_eq!(error_of(&poll(&app, &tv, device_code).await), (400, "authorization_pending"), "after 15 s");
        let interval = app.scalar("SELECT interval_secs FROM device_codes").await;
        assert_eq!(interval, 15, "raised twice");

        // Denied.
        let page = answer(&person, started["user_code"].as_str().unwrap(), "deny").await;
        assert!(page.contains("Device denied"), "{page}");
        app.clock.advance(time::Duration::seconds(20));
        assert_eq!(error_of(&poll(&app, &tv, device_code).await), (400, "access_denied"));
        assert_eq!(app.count("audit_events WHERE kind = 'device_authorization.denied'").await, 1);

        // Expired: the code dies with its lifetime, answered or not.
        let (_, second) = start(&app, &tv, "openid").await;
        app.clock.advance(time::Duration::seconds(601));
        assert_eq!(error_of(&poll(&app, &tv, second["device_code"].as_str().unwrap()).await), (400, "expired_token"));
        let late = person.submit("/device", &[("user_code", second["user_code"].as_str().unwrap())]).await;
        assert_eq!(late.status(), 400, "an expired user code is not found");

        // Unknown code, missing code.
        assert_eq!(error_of(&poll(&app, &tv, "made-up").await), (400, "invalid_grant"));
        let res = app.token_request("/token", &tv, &[("grant_type", DEVICE_GRANT)]).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["error"].as_str(), body["error_description"].as_str()), (Some("invalid_request"), Some("device_code is required")));
    }
);

db_test!(
    async fn an_approved_device_code_is_redeemed_once_and_never_by_another_device(backend) {
        let app = spawn_app(backend).await;
        let person = signed_in(&app, "carol").await;
        let tv = tv_client(&app, "tv").await;
        let other = tv_client(&app, "other-tv").await;
        let (_, started) = start(&app, &tv, "openid").await;
        let device_code = started["device_code"].as_str().unwrap().to_string();
        answer(&person, started["user_code"].as_str().unwrap(), "allow").await;

        assert_eq!(
            error_of(&poll(&app, &other, &device_code).await),
            (400, "invalid_grant"),
            "another client cannot redeem it"
        );
        let (a, b, c) =
            tokio::join!(poll(&app, &tv, &device_code), poll(&app, &tv, &device_code), poll(&app, &tv, &device_code));
        let won: Vec<_> = [&a, &b, &c].into_iter().filter(|r| r.0 == 200).collect();
        assert_eq!(won.len(), 1, "exactly one of three parallel polls gets tokens: {a:?} {b:?} {c:?}");
        for lost in [&a, &b, &c].into_iter().filter(|r| r.0 != 200) {
            assert_eq!(error_of(lost), (400, "invalid_grant"));
        }
        assert!(won[0].1["access_token"].is_string());
        app.clock.advance(time::Duration::seconds(30));
        assert_eq!(error_of(&poll(&app, &tv, &device_code).await), (400, "invalid_grant"), "and later neither");
        assert_eq!(app.count("audit_events WHERE kind = 'token.issued'").await, 1);

        // A second person cannot answer the code once it was answered.
        let second = signed_in(&app, "dave").await;
        let res = second.submit("/device", &[("user_code", started["user_code"].as_str().unwrap())]).await;
        assert_eq!(res.status(), 400, "an answered code is not offered again");
    }
);

db_test!(
    async fn guessing_user_codes_is_throttled_and_the_device_page_needs_a_session_and_csrf(backend) {
        let app = spawn_app(backend).await;
        let tv = tv_client(&app, "tv").await;
        let (_, started) = start(&app, &tv, "openid").await;
        let user_code = started["user_code"].as_str().unwrap().to_string();

        // Nobody signed in: the sign-in page, coming back to the very link.
        let anonymous = app.browser();
        let res = anonymous.get(&format!("/device?user_code={user_code}")).await;
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/login?next=%2Fdevice%3Fuser_code%3D"), "{location}");

        let person = signed_in(&app, "erin").await;
        let res = person.post_form("/device", &[("user_code", &user_code)]).await;
        assert_eq!(res.status(), 403, "no CSRF token, no look-up");
        let html = person.text("/device").await;
        let csrf = csrf_in(&html).unwrap();
        let res = person
            .post_form("/device/decision", &[("csrf_token", "wrong"), ("user_code", &user_code), ("decision", "allow")])
            .await;
        assert_eq!(res.status(), 403, "no answer without the CSRF token");

        for guess in ["BCDF-GHJK", "ZZZZ-ZZZZ", "not a code", "QQQQ-QQQQ", "XXXX-XXXX"] {
            let res = person.post_form("/device", &[("csrf_token", &csrf), ("user_code", guess)]).await;
            assert_eq!(res.status(), 400, "{guess}");
            let page = res.text().await.unwrap();
            assert!(page.contains("not valid"), "{guess}: {page}");
        }
        let res = person.post_form("/device", &[("csrf_token", &csrf), ("user_code", &user_code)]).await;
        assert_eq!(res.status(), 429, "after 5 wrong codes even the right one waits");
        let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=600).contains(&wait), "{wait}");

        app.clock.advance(time::Duration::seconds(wait));
        // The window (10 minutes) outlived that code; the device starts again.
        let (_, started) = start(&app, &tv, "openid").await;
        let user_code = started["user_code"].as_str().unwrap().to_string();
        let res = person.post_form("/device", &[("csrf_token", &csrf), ("user_code", &user_code.to_lowercase())]).await;
        assert_eq!(res.status(), 200, "after the window, the right code (any case) is found");
        let page = res.text().await.unwrap();
        assert!(page.contains("tv app"), "the client's name is shown");
        assert!(between(&page, "<ul class=\"scopes\">", "</ul>").unwrap().contains("openid"), "and its scopes");
        assert_eq!(poll(&app, &tv, started["device_code"].as_str().unwrap()).await.1["error"], "authorization_pending");
    }
);
