//! Passkeys (WebAuthn), driven by a software authenticator (`helpers::authenticator`): adding
//! one on the profile, signing in with it and no username (the ID token's `amr` says so), and
//! every way an answer can be wrong, each refused with a clear message and no session.
//! WebAuthn needs a domain, so these apps use `localhost` as their issuer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::authenticator::{Answer, SoftPasskey};
use crate::helpers::oidc::{ClientSpec, authorize_path, param, pkce};
use crate::helpers::{Backend, Browser, PASSWORD, TestApp, csrf_in, db_test, location, spawn_app_with};
use portcullis::store::inspect;

async fn passkey_app(backend: Backend) -> TestApp {
    passkey_app_with(backend, |_| {}).await
}

async fn passkey_app_with(backend: Backend, customize: impl FnOnce(&mut portcullis::config::Settings)) -> TestApp {
    spawn_app_with(backend, |s| {
        s.issuer = s.issuer.replace("127.0.0.1", "localhost");
        customize(s);
    })
    .await
}

/// A good answer for this app: its origin and RP ID, with user verification.
fn good(app: &TestApp) -> Answer {
    Answer { origin: app.issuer.clone(), rp_id: "localhost".into(), user_verified: true }
}

async fn post_json(browser: &Browser, path: &str, body: Value) -> (u16, Value) {
    let res = browser.post_raw(path, "application/json", serde_json::to_vec(&body).unwrap()).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn csrf_of(browser: &Browser, page: &str) -> String {
    let html = browser.text(page).await;
    csrf_in(&html).unwrap_or_else(|| between_data_csrf(&html))
}

fn between_data_csrf(html: &str) -> String {
    crate::helpers::between(html, "data-csrf=\"", "\"").expect("a CSRF token on the page")
}

/// Begins adding a passkey on the profile: (status, options).
async fn begin_add(browser: &Browser) -> (u16, Value, String) {
    let csrf = csrf_of(browser, "/profile/passkeys").await;
    let (status, options) = post_json(browser, "/profile/passkeys/begin", json!({ "csrf_token": csrf })).await;
    (status, options, csrf)
}

async fn add_passkey(browser: &Browser, key: &mut SoftPasskey, how: &Answer, name: &str) -> (u16, Value) {
    let (status, options, csrf) = begin_add(browser).await;
    assert_eq!(status, 200, "begin: {options}");
    let credential = key.register(&options, how);
    post_json(
        browser,
        "/profile/passkeys/finish",
        json!({ "csrf_token": csrf, "name": name, "credential": credential }),
    )
    .await
}

/// Alice, signed in, with one passkey added (and its authenticator).
async fn alice_with_passkey(app: &TestApp) -> (Browser, SoftPasskey) {
    let browser = app.browser();
    browser.sign_up("alice", "alice@example.com", PASSWORD).await;
    let mut key = SoftPasskey::new();
    let (status, body) = add_passkey(&browser, &mut key, &good(app), "Laptop").await;
    assert_eq!(status, 200, "the passkey is added: {body}");
    (browser, key)
}

/// Begins a passwordless sign-in on /login in `browser`: (options, csrf).
async fn begin_sign_in(browser: &Browser) -> (Value, String) {
    let csrf = csrf_of(browser, "/login").await;
    let (status, options) = post_json(browser, "/login/passkey/begin", json!({ "csrf_token": csrf })).await;
    assert_eq!(status, 200, "begin: {options}");
    (options, csrf)
}

async fn finish_sign_in(browser: &Browser, csrf: &str, credential: Value, next: &str) -> (u16, Value) {
    post_json(browser, "/login/passkey/finish", json!({ "csrf_token": csrf, "credential": credential, "next": next }))
        .await
}

async fn sign_in(browser: &Browser, key: &mut SoftPasskey, how: &Answer) -> (u16, Value) {
    let (options, csrf) = begin_sign_in(browser).await;
    let credential = key.assert(&options, how);
    finish_sign_in(browser, &csrf, credential, "").await
}

/// Whether the newest security notice says `text` (waiting up to 10 s for its delivery).
async fn notice_says(app: &TestApp, text: &str) -> bool {
    for _ in 0..100 {
        if app.mail_text("A security setting of your account changed").await.contains(text) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// The refusal is a clear message and the browser is not signed in.
async fn assert_refused(browser: &Browser, (status, body): (u16, Value), says: &str, case: &str) {
    assert!((400..500).contains(&status), "{case}: refused with a client error, got {status} {body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{case}: the message says {says:?}: {message}");
    assert_eq!(location(&browser.get("/profile").await), "/login?next=%2Fprofile", "{case}: no session");
}

db_test!(
    async fn a_person_adds_a_passkey_then_signs_in_with_it_and_no_username(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        let page = browser.text("/profile/passkeys?added=1").await;
        assert!(page.contains("Your passkey was added.") && page.contains("Laptop"), "{page}");
        assert!(page.contains("Device-bound passkey") && page.contains("last used never"), "{page}");
        let user = app.user_id("alice").await;
        let handle = app.scalar(&format!("SELECT COUNT(*) FROM passkey_handles WHERE user_id = '{user}' AND handle <> 'alice'")).await;
        assert_eq!(handle, 1, "a random user handle, not the username");
        assert_eq!(key.user_handle.len(), 16, "the handle the authenticator keeps is a random 16-byte id");
        assert!(notice_says(&app, "A passkey was added to your account").await);
        browser.logout().await;

        let fresh = app.browser();
        let (status, body) = sign_in(&fresh, &mut key, &good(&app)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["redirect"], "/profile");
        assert_eq!(fresh.get("/profile").await.status(), 200, "signed in");
        let events = app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in.succeeded' AND user_id = '{user}' AND detail LIKE '%passkey%'"
        )).await;
        assert_eq!(events, 1, "the sign-in is audited as a passkey sign-in");
        assert!(fresh.text("/profile/passkeys").await.contains("last used 2"), "last use shown");
    }
);

db_test!(
    async fn the_id_token_of_a_passkey_sign_in_says_hwk_user_and_mfa_and_satisfies_a_second_factor_request(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;
        let client = app.client("strict", ClientSpec { first_party: true, require_mfa: true, ..Default::default() }).await;
        let fresh = app.browser();
        let (verifier, challenge) = pkce();
        let start = authorize_path("strict", &challenge, &[("acr_values", "urn:portcullis:acr:mfa")]);
        let login = location(&fresh.get(&start).await);
        assert!(login.starts_with("/login"), "asks to sign in: {login}");
        let next = param(&format!("http://x{login}"), "next").unwrap();
        let (options, csrf) = begin_sign_in(&fresh).await;
        let (status, body) = finish_sign_in(&fresh, &csrf, key.assert(&options, &good(&app)), &next).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["redirect"], next.as_str(), "the pending authorization request resumes");
        let res = fresh.get(&next).await;
        let code = param(&location(&res), "code").expect("a code: the passkey is a second factor");
        let tokens = app.exchange(&client, &code, &verifier).await.1;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]));
        assert_eq!(claims["acr"], "urn:portcullis:acr:mfa");
        let discovery: Value = app.browser().get("/.well-known/openid-configuration").await.json().await.unwrap();
        assert!(discovery["acr_values_supported"].as_array().unwrap().contains(&json!("urn:portcullis:acr:mfa")));
    }
);

db_test!(
    async fn a_passkey_sign_in_gets_a_new_session_id(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;
        let fresh = app.browser();
        let (options, csrf) = begin_sign_in(&fresh).await;
        let before = fresh.session_cookie().expect("an anonymous session holds the ceremony");
        let (status, _) = finish_sign_in(&fresh, &csrf, key.assert(&options, &good(&app)), "").await;
        assert_eq!(status, 200);
        assert_ne!(fresh.session_cookie().unwrap(), before, "the session id rotates");
    }
);

db_test!(
    async fn answers_for_another_origin_or_rp_id_or_without_user_verification_are_refused(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;
        let cases = [
            ("wrong origin", Answer { origin: "https://evil.example".into(), ..good(&app) }, "another site (origin)"),
            ("wrong RP ID", Answer { rp_id: "evil.example".into(), ..good(&app) }, "another site (RP ID)"),
            ("no user verification", Answer { user_verified: false, ..good(&app) }, "did not verify you"),
        ];
        for (case, how, says) in cases {
            let fresh = app.browser();
            let outcome = sign_in(&fresh, &mut key, &how).await;
            assert_refused(&fresh, outcome, says, case).await;
        }
        let failures = app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in.failed' AND detail LIKE '%passkey%'").await;
        assert_eq!(failures, 3, "each refusal is audited");
    }
);

db_test!(
    async fn a_challenge_counts_once_in_time_and_only_in_the_session_that_asked(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;

        // Replayed: the same answer a second time.
        let first = app.browser();
        let (options, csrf) = begin_sign_in(&first).await;
        let answer = key.assert(&options, &good(&app));
        assert_eq!(finish_sign_in(&first, &csrf, answer.clone(), "").await.0, 200);
        first.logout().await;
        let csrf = csrf_of(&first, "/login").await;
        let replay = finish_sign_in(&first, &csrf, answer, "").await;
        assert_refused(&first, replay, "no longer open", "replayed challenge").await;

        // Expired: answered after more than five minutes.
        let late = app.browser();
        let (options, csrf) = begin_sign_in(&late).await;
        app.clock.advance(time::Duration::seconds(301));
        let outcome = finish_sign_in(&late, &csrf, key.assert(&options, &good(&app)), "").await;
        assert_refused(&late, outcome, "no longer open", "expired challenge").await;

        // Another session's: B answers A's challenge (B has its own ceremony open).
        let (a, b) = (app.browser(), app.browser());
        let (options_a, _) = begin_sign_in(&a).await;
        let (_, csrf_b) = begin_sign_in(&b).await;
        let outcome = finish_sign_in(&b, &csrf_b, key.assert(&options_a, &good(&app)), "").await;
        assert_refused(&b, outcome, "answers another request", "challenge of another session").await;
        // … and with no ceremony of its own at all.
        let c = app.browser();
        let csrf_c = csrf_of(&c, "/login").await;
        let (options_a2, _) = begin_sign_in(&a).await;
        let outcome = finish_sign_in(&c, &csrf_c, key.assert(&options_a2, &good(&app)), "").await;
        assert_refused(&c, outcome, "no longer open", "a session that began nothing").await;
    }
);

db_test!(
    async fn a_counter_that_goes_backwards_is_flagged_mailed_and_refused(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;
        key.counter = 10;
        assert_eq!(sign_in(&app.browser(), &mut key, &good(&app)).await.0, 200);
        key.counter = 5;
        let fresh = app.browser();
        let outcome = sign_in(&fresh, &mut key, &good(&app)).await;
        assert_refused(&fresh, outcome, "counter went backwards", "counter regression").await;
        assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys WHERE counter_flagged = TRUE").await, 1, "flagged");
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'passkey.counter_regressed'").await,
            1,
            "recorded"
        );
        assert!(notice_says(&app, "signature counter lower than before").await);
    }
);

db_test!(
    async fn a_counter_regression_only_flags_when_refusing_is_turned_off(backend) {
        let app = passkey_app_with(backend, |s| s.account.passkey_refuse_counter_regression = false).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        browser.logout().await;
        key.counter = 10;
        assert_eq!(sign_in(&app.browser(), &mut key, &good(&app)).await.0, 200);
        key.counter = 5;
        assert_eq!(sign_in(&app.browser(), &mut key, &good(&app)).await.0, 200, "accepted");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM passkeys WHERE counter_flagged = TRUE").await, 1, "but flagged");
    }
);

db_test!(
    async fn an_unknown_credential_or_another_persons_credential_is_refused(backend) {
        let app = passkey_app(backend).await;
        let (alice, mut alice_key) = alice_with_passkey(&app).await;
        alice.logout().await;
        let bob = app.browser();
        bob.sign_up("bob", "bob@example.com", PASSWORD).await;
        let mut bob_key = SoftPasskey::new();
        assert_eq!(add_passkey(&bob, &mut bob_key, &good(&app), "Phone").await.0, 200);
        bob.logout().await;

        let mut stranger = SoftPasskey::new();
        stranger.user_handle = alice_key.user_handle.clone();
        let fresh = app.browser();
        let outcome = sign_in(&fresh, &mut stranger, &good(&app)).await;
        assert_refused(&fresh, outcome, "not registered here", "unknown credential").await;

        // Bob's credential presented under Alice's user handle.
        bob_key.user_handle = alice_key.user_handle.clone();
        let fresh = app.browser();
        let outcome = sign_in(&fresh, &mut bob_key, &good(&app)).await;
        assert_refused(&fresh, outcome, "another account", "credential of another user").await;

        // Alice's own still works.
        assert_eq!(sign_in(&app.browser(), &mut alice_key, &good(&app)).await.0, 200);
    }
);

db_test!(
    async fn adding_a_passkey_needs_a_recent_sign_in_and_a_valid_answer(backend) {
        let app = passkey_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        app.clock.advance(time::Duration::seconds(301));
        let (status, body, _) = begin_add(&browser).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["reauth"], "/login?reauth=1&next=/profile/passkeys");
        browser.login("alice", PASSWORD).await;
        let mut key = SoftPasskey::new();
        let wrong = Answer { origin: "https://evil.example".into(), ..good(&app) };
        let (status, body) = add_passkey(&browser, &mut key, &wrong, "Laptop").await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains("another site"), "{body}");
        let (status, body) = add_passkey(&browser, &mut key, &good(&app), " ").await;
        assert_eq!(status, 400, "a name is needed: {body}");
        assert_eq!(app.count("passkeys").await, 0, "nothing stored");
    }
);

db_test!(
    async fn a_passkey_is_renamed_and_removed_but_never_the_last_way_into_a_passwordless_account(backend) {
        let app = passkey_app(backend).await;
        let (browser, _key) = alice_with_passkey(&app).await;
        let id = inspect::strings(&app.state.db, "SELECT id FROM passkeys", vec![]).await.unwrap()[0].clone().unwrap();
        let res = browser.submit("/profile/passkeys/rename", &[("id", &id), ("name", "Work laptop")]).await;
        assert_eq!(location(&res), "/profile/passkeys?renamed=1");
        assert!(browser.text("/profile/passkeys").await.contains("Work laptop"));

        inspect::execute_sql(&app.state.db, "UPDATE users SET password_hash = '' WHERE username = 'alice'", vec![]).await.unwrap();
        let res = browser.submit("/profile/passkeys/remove", &[("id", &id)]).await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("only way into your account"));
        assert_eq!(app.count("passkeys").await, 1, "kept");

        inspect::execute_sql(&app.state.db, "UPDATE users SET password_hash = 'x' WHERE username = 'alice'", vec![]).await.unwrap();
        let res = browser.submit("/profile/passkeys/remove", &[("id", &id)]).await;
        assert_eq!(location(&res), "/profile/passkeys?removed=1");
        assert_eq!(app.count("passkeys").await, 0);
        assert!(notice_says(&app, "was removed from your account").await);
        let other = browser.submit("/profile/passkeys/remove", &[("id", "no-such-id")]).await;
        assert_eq!(other.status(), 404);
    }
);

db_test!(
    async fn after_a_password_a_passkey_can_stand_in_for_the_code(backend) {
        let app = passkey_app(backend).await;
        let (browser, mut key) = alice_with_passkey(&app).await;
        app.enrol(&browser, PASSWORD).await;
        browser.logout().await;
        let fresh = app.browser();
        assert_eq!(location(&fresh.login("alice", PASSWORD).await), "/login/totp");
        let page = fresh.text("/login/totp").await;
        assert!(page.contains("Use a passkey"), "the passkey is offered: {page}");
        let csrf = between_data_csrf(&page);
        let (status, options) = post_json(&fresh, "/login/totp/passkey/begin", json!({ "csrf_token": csrf })).await;
        assert_eq!(status, 200, "{options}");
        let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
        assert_eq!(allowed.len(), 1, "only Alice's own passkey is offered");

        // Another person's passkey is refused at the second step, and the step stays open.
        let mut stranger = SoftPasskey::new();
        let (status, body) = post_json(
            &fresh,
            "/login/totp/passkey/finish",
            json!({ "csrf_token": csrf, "credential": stranger.assert(&options, &good(&app)) }),
        )
        .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(location(&fresh.get("/profile").await), "/login?next=%2Fprofile", "no session yet");

        let (_, options) = post_json(&fresh, "/login/totp/passkey/begin", json!({ "csrf_token": csrf })).await;
        let (status, body) = post_json(
            &fresh,
            "/login/totp/passkey/finish",
            json!({ "csrf_token": csrf, "credential": key.assert(&options, &good(&app)) }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["redirect"], "/profile");
        assert_eq!(fresh.get("/profile").await.status(), 200, "signed in with password and passkey");
        let method = app
            .scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in.succeeded' AND detail LIKE '%password+passkey%'")
            .await;
        assert_eq!(method, 1);
    }
);

db_test!(
    async fn first_party_apps_run_both_ceremonies_as_json(backend) {
        let app = passkey_app(backend).await;
        let browser = app.browser();
        browser.register("alice", "alice@example.com", PASSWORD).await;
        let api = reqwest::Client::new();
        let login: Value = api
            .post(app.url("/auth/login"))
            .json(&json!({ "username": "alice", "password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().expect("API tokens").to_string();
        let wrong = api
            .post(app.url("/auth/passkey/register/begin"))
            .bearer_auth(&token)
            .json(&json!({ "current_password": "not it" }))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 400, "the password is asked again");
        let begun: Value = api
            .post(app.url("/auth/passkey/register/begin"))
            .bearer_auth(&token)
            .json(&json!({ "current_password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut key = SoftPasskey::new();
        let credential = key.register(&begun["options"], &good(&app));
        let added = api
            .post(app.url("/auth/passkey/register/finish"))
            .bearer_auth(&token)
            .json(&json!({ "ceremony": begun["ceremony"], "name": "Phone", "credential": credential }))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201);

        let begun: Value =
            api.post(app.url("/auth/passkey/login/begin")).send().await.unwrap().json().await.unwrap();
        let answer = key.assert(&begun["options"], &good(&app));
        let finish = json!({ "ceremony": begun["ceremony"], "credential": answer });
        let res = api.post(app.url("/auth/passkey/login/finish")).json(&finish).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let tokens: Value = res.json().await.unwrap();
        assert!(tokens["access_token"].is_string() && tokens["device_token"].is_string(), "{tokens}");
        let replay = api.post(app.url("/auth/passkey/login/finish")).json(&finish).send().await.unwrap();
        assert_eq!(replay.status(), 400, "the ceremony is used once");
        let problem: Value = replay.json().await.unwrap();
        assert_eq!(problem["code"], "ceremony_not_open");
    }
);
