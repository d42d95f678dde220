//! A person's devices and apps: where they are signed in (sign out one session, sign out
//! everywhere else, never someone else's), the apps they let in (remove access: tokens and
//! consent gone), the new-device notice, and the events each action writes exactly once.

use portcullis::identity::user::UserId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::call;
use crate::helpers::oidc::{Consent, authorize_path, drive, param, pkce};
use crate::helpers::{Browser, PASSWORD, TestApp, between, db_test, location, spawn_app, spawn_app_with};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Version/17.4 Mobile/15E148 Safari/604.1";
const NEW_DEVICE: &str = "New sign-in to your account";

async fn events(app: &TestApp, kind: &str) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE kind = '{kind}'")).await
}

async fn sessions_of(app: &TestApp, username: &str) -> i64 {
    let id = app.user_id(username).await;
    app.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = '{id}'")).await
}

async fn notices(app: &TestApp) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM mail_outbox WHERE subject = '{NEW_DEVICE}'")).await
}

/// The public id the profile page's "Sign out" button of `device` carries.
fn sign_out_id(profile: &str, device: &str) -> String {
    let row = profile.split(&format!("<strong>{device}</strong>")).nth(1).unwrap_or_else(|| panic!("{device} listed"));
    between(row, "name=\"session\" value=\"", "\"").expect("a sign-out button")
}

/// Alice signed in on three browsers: Firefox, Chrome, Safari.
async fn alice_on_three_devices(app: &TestApp) -> (Browser, Browser, Browser) {
    let firefox = app.browser_as(FIREFOX);
    firefox.sign_up("alice", "alice@example.com", PASSWORD).await;
    let (chrome, safari) = (app.browser_as(CHROME), app.browser_as(SAFARI));
    for browser in [&chrome, &safari] {
        assert_eq!(browser.login("alice", PASSWORD).await.status(), 303);
    }
    (firefox, chrome, safari)
}

async fn api_token(app: &TestApp, username: &str) -> String {
    let res = reqwest::Client::new()
        .post(app.url("/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().expect("an access token").to_string()
}

db_test!(
    async fn signing_out_one_session_leaves_the_others(backend) {
        let app = spawn_app(backend).await;
        let (firefox, chrome, safari) = alice_on_three_devices(&app).await;

        let profile = firefox.text("/profile").await;
        assert!(profile.contains("<title>Your profile · Portcullis</title>"), "the sections belong in the body: {profile}");
        assert!(profile.contains("Where you&#39;re signed in") || profile.contains("Where you're signed in"), "{profile}");
        assert!(profile.contains("<strong>Firefox on Linux</strong> <span class=\"badge\">this device</span>"), "{profile}");
        assert!(profile.contains("IP 127.0.0.1"), "{profile}");
        let res = firefox.submit("/profile/devices/sign-out", &[("session", &sign_out_id(&profile, "Chrome on Windows"))]).await;
        assert_eq!(location(&res), "/profile?done=session-ended");

        assert_eq!(chrome.get("/profile").await.status(), 303, "the signed-out session opens nothing");
        assert_eq!(safari.get("/profile").await.status(), 200, "another session is untouched");
        assert_eq!(firefox.get("/profile").await.status(), 200, "the current one too");
        assert_eq!(sessions_of(&app, "alice").await, 2);
        assert_eq!(events(&app, "session.revoked").await, 1, "one event for one session");
        let profile = firefox.text("/profile?done=session-ended").await;
        assert!(profile.contains("That session was signed out."));
        assert!(!profile.contains("Chrome on Windows"), "no longer listed");
    }
);

db_test!(
    async fn sign_out_everywhere_else_keeps_only_the_current_one(backend) {
        let app = spawn_app(backend).await;
        let (firefox, chrome, safari) = alice_on_three_devices(&app).await;
        let bob = app.browser();
        bob.sign_up("bob", "bob@example.com", PASSWORD).await;

        let res = chrome.submit("/profile/devices/sign-out-others", &[]).await;
        assert_eq!(location(&res), "/profile?done=others-ended");
        assert_eq!(chrome.get("/profile").await.status(), 200, "the current session stays");
        assert_eq!(firefox.get("/profile").await.status(), 303);
        assert_eq!(safari.get("/profile").await.status(), 303);
        assert_eq!(bob.get("/profile").await.status(), 200, "nobody else's sessions end");
        assert_eq!(sessions_of(&app, "alice").await, 1);
        assert_eq!(events(&app, "session.revoked").await, 2, "one event per ended session");
    }
);

db_test!(
    async fn a_person_cannot_end_someone_elses_session(backend) {
        let app = spawn_app(backend).await;
        let alice = app.browser();
        alice.sign_up("alice", "alice@example.com", PASSWORD).await;
        let bob = app.browser();
        bob.sign_up("bob", "bob@example.com", PASSWORD).await;
        let bob_id = app.user_id("bob").await;
        let bobs_session = app.state.devices.sessions(UserId::parse(&bob_id).unwrap(), None).await.unwrap().remove(0).id;

        let res = alice.submit("/profile/devices/sign-out", &[("session", &bobs_session)]).await;
        assert_eq!(location(&res), "/profile?done=session-gone", "the page says kindly that there is no such session");
        let token = api_token(&app, "alice").await;
        let (status, problem) = call(&app, Method::DELETE, &format!("/profile/sessions/{bobs_session}"), &token, None).await;
        assert_eq!((status, problem["status"].as_i64()), (StatusCode::NOT_FOUND, Some(404)), "{problem}");
        let (status, _) = call(&app, Method::DELETE, "/profile/sessions/no-such-id", &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        assert_eq!(bob.get("/profile").await.status(), 200, "bob is still signed in");
        assert_eq!(events(&app, "session.revoked").await, 0, "nothing ended, nothing recorded");
    }
);

db_test!(
    async fn the_api_lists_sessions_marks_this_one_and_refreshes_last_seen_only_every_five_minutes(backend) {
        let app = spawn_app(backend).await;
        let (firefox, _chrome, _safari) = alice_on_three_devices(&app).await;
        let token = api_token(&app, "alice").await;
        let signed_in = app.state.clock.unix();
        let list = |browser: &Browser| {
            let req = browser.client.get(app.url("/profile/sessions")).bearer_auth(&token);
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };

        let body = list(&firefox).await;
        let sessions = body["sessions"].as_array().expect("a list");
        assert_eq!(sessions.len(), 3, "{body}");
        let current: Vec<_> = sessions.iter().filter(|s| s["current"] == json!(true)).collect();
        assert_eq!(current.len(), 1, "the cookie's session is this one: {body}");
        assert_eq!(current[0]["device"], "Firefox on Linux");
        assert_eq!(current[0]["ip"], "127.0.0.1");
        assert_eq!(current[0]["signed_in_at"].as_i64(), Some(signed_in));
        let chrome = sessions.iter().find(|s| s["device"] == "Chrome on Windows").expect("chrome listed");
        assert_eq!((chrome["browser"].as_str(), chrome["os"].as_str()), (Some("Chrome"), Some("Windows")));
        let (status, others) =
            call(&app, Method::GET, "/profile/sessions", &token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(others["sessions"].as_array().unwrap().iter().all(|s| s["current"] == json!(false)), "a token alone has no current session");

        app.clock.advance(time::Duration::seconds(120));
        firefox.get("/profile").await;
        let seen = |body: &Value| body["sessions"].as_array().unwrap().iter().find(|s| s["current"] == json!(true)).unwrap()["last_seen_at"].as_i64();
        assert_eq!(seen(&list(&firefox).await), Some(signed_in), "not rewritten within five minutes");
        app.clock.advance(time::Duration::seconds(200));
        firefox.get("/profile").await;
        assert_eq!(seen(&list(&firefox).await), Some(signed_in + 320), "rewritten once five minutes passed");

        let (status, ended) = call(&app, Method::POST, "/profile/sessions/end-others", &token, None).await;
        assert_eq!((status, ended["ended"].as_i64()), (StatusCode::OK, Some(3)), "without a cookie every browser session ends");
        assert_eq!(firefox.get("/profile").await.status(), 303);
    }
);

db_test!(
    async fn removing_an_app_revokes_its_tokens_and_forgets_the_consent(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let client = app.web_client("rp").await;
        let (verifier, challenge) = pkce();
        let back = drive(&browser, &authorize_path("rp", &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
        let (status, tokens) = app.exchange(&client, &param(&back, "code").unwrap(), &verifier).await;
        assert_eq!(status, 200, "{tokens}");

        let token = api_token(&app, "alice").await;
        let (status, apps) = call(&app, Method::GET, "/profile/apps", &token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(apps["apps"].as_array().map(Vec::len), Some(1), "only the app, not the API's own sign-ins: {apps}");
        assert_eq!(apps["apps"][0]["client_id"], "rp");
        assert_eq!(apps["apps"][0]["name"], "rp app");
        let mut scopes: Vec<_> = apps["apps"][0]["scopes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        scopes.sort_unstable();
        assert_eq!(scopes, ["email", "openid", "profile"]);
        let profile = browser.text("/profile").await;
        assert!(profile.contains("<strong>rp app</strong>"), "{profile}");

        let res = browser.submit("/profile/devices/remove-app", &[("client_id", "rp")]).await;
        assert_eq!(location(&res), "/profile?done=app-removed");
        let (status, body) = app.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
        assert_eq!(app.userinfo_status(tokens["access_token"].as_str().unwrap()).await, 401, "its access token is recalled too");
        let again = browser.get(&authorize_path("rp", &challenge, &[])).await;
        assert_eq!(again.status(), 200, "the next authorization asks again: {}", location(&again));
        assert!(again.text().await.unwrap().contains("name=\"pending\""), "the consent page");

        let (status, apps) = call(&app, Method::GET, "/profile/apps", &token, None).await;
        assert_eq!((status, apps["apps"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
        let (status, _) = call(&app, Method::DELETE, "/profile/apps/rp", &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nothing left to remove");
        let res = browser.submit("/profile/devices/remove-app", &[("client_id", "rp")]).await;
        assert_eq!(location(&res), "/profile?done=app-gone");
        assert_eq!(events(&app, "consent.revoked").await, 1, "one removal, one event");
    }
);

db_test!(
    async fn another_persons_app_access_cannot_be_removed(backend) {
        let app = spawn_app(backend).await;
        let client = app.web_client("rp").await;
        let bob = app.browser();
        bob.sign_up("bob", "bob@example.com", PASSWORD).await;
        let (verifier, challenge) = pkce();
        let back = drive(&bob, &authorize_path("rp", &challenge, &[]), ("bob", PASSWORD), Consent::Allow).await;
        let (_, tokens) = app.exchange(&client, &param(&back, "code").unwrap(), &verifier).await;
        app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;

        let token = api_token(&app, "alice").await;
        let (status, _) = call(&app, Method::DELETE, "/profile/apps/rp", &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, Method::DELETE, "/profile/apps/portcullis-api", &token, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the API's own client is not an app");
        assert_eq!(app.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await.0, 200, "bob's grant lives");
        assert_eq!(events(&app, "consent.revoked").await, 0);
    }
);

db_test!(
    async fn a_sign_in_from_a_new_device_mails_a_notice_once_and_a_known_device_none(backend) {
        let app = spawn_app(backend).await;
        let first = app.browser();
        first.sign_up("alice", "alice@example.com", PASSWORD).await;
        assert_eq!(notices(&app).await, 0, "an account's first device is its owner's own");

        let firefox = app.browser_as(FIREFOX);
        assert_eq!(firefox.login("alice", PASSWORD).await.status(), 303);
        assert_eq!(notices(&app).await, 1, "a new device");
        let text = app.mail_text(NEW_DEVICE).await;
        assert!(text.contains("Firefox on Linux") && text.contains("127.0.0.1"), "{text}");
        assert!(text.contains(&app.link_to("/profile")), "{text}");

        firefox.logout().await;
        assert_eq!(firefox.login("alice", PASSWORD).await.status(), 303);
        first.logout().await;
        assert_eq!(first.login("alice", PASSWORD).await.status(), 303);
        assert_eq!(notices(&app).await, 1, "known devices (their device cookie) get none");
    }
);

db_test!(
    async fn no_new_device_notice_when_it_is_turned_off(backend) {
        let app = spawn_app_with(backend, |s| s.login.new_device_mail = false).await;
        app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
        assert_eq!(app.browser_as(FIREFOX).login("alice", PASSWORD).await.status(), 303);
        assert_eq!(notices(&app).await, 0);
    }
);

db_test!(
    async fn an_anonymous_visit_is_never_listed_as_a_place_someone_is_signed_in(backend) {
        let app = spawn_app(backend).await;
        let alice = app.browser();
        alice.sign_up("alice", "alice@example.com", PASSWORD).await;
        let bob = app.browser();
        bob.sign_up("bob", "bob@example.com", PASSWORD).await;
        app.enrol(&bob, PASSWORD).await;
        bob.logout().await;
        let before = app.count("sessions").await;
        let visitor = app.browser_as(CHROME);
        assert_eq!(visitor.get("/login").await.status(), 200);
        assert_eq!(app.count("sessions").await, before, "the login form alone stores nothing");
        // A password step waiting for its second factor is kept: one row, nobody's (yet).
        assert_eq!(location(&visitor.login("bob", PASSWORD).await), "/login/totp");
        assert_eq!(app.count("sessions").await, before + 1, "one anonymous row for the visit");
        let anonymous = app.scalar("SELECT COUNT(*) FROM sessions WHERE user_id IS NULL AND signed_in_at IS NULL").await;
        assert_eq!(anonymous, 1, "it names no user and no sign-in");
        assert_eq!(visitor.get("/login/totp").await.status(), 200);
        assert_eq!(app.count("sessions").await, before + 1, "the next visit reuses it");
        let token = api_token(&app, "alice").await;
        let (_, body) = call(&app, Method::GET, "/profile/sessions", &token, None).await;
        assert_eq!(body["sessions"].as_array().map(Vec::len), Some(1), "{body}");
    }
);

db_test!(
    async fn new_device_notices_to_one_account_stop_at_five_an_hour(backend) {
        let app = spawn_app(backend).await;
        app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
        for _ in 0..7 {
            assert_eq!(app.browser().login("alice", PASSWORD).await.status(), 303);
        }
        assert_eq!(notices(&app).await, 5, "a flood of new devices is not a flood of mail");
        app.clock.advance(time::Duration::hours(1));
        assert_eq!(app.browser().login("alice", PASSWORD).await.status(), 303);
        assert_eq!(notices(&app).await, 6, "the budget refills");
    }
);

db_test!(
    async fn ending_a_session_ends_the_online_grants_it_made_like_signing_out_there(backend) {
        let app = spawn_app(backend).await;
        let (firefox, chrome, _safari) = alice_on_three_devices(&app).await;
        let client = app.web_client("rp").await;
        let (verifier, challenge) = pkce();
        let back = drive(&chrome, &authorize_path("rp", &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
        let (_, tokens) = app.exchange(&client, &param(&back, "code").unwrap(), &verifier).await;
        let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_string();

        let profile = firefox.text("/profile").await;
        firefox.submit("/profile/devices/sign-out", &[("session", &sign_out_id(&profile, "Chrome on Windows"))]).await;
        assert_eq!(app.refresh(&client, &refresh).await.0, 400, "the grant made in that session ended with it");
        assert_eq!(events(&app, "session.revoked").await, 1);
    }
);
