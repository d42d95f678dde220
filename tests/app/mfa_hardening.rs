//! The second factor under attack (issue 20): budgets that parallel bursts cannot overdraw,
//! on the JSON path and the hosted pages; changes to the second factor that need a current
//! code; recovery codes stored as keyed hashes. Checks are counted with the server's own
//! counter of codes compared against a secret, never by timing.

use futures::future::join_all;
use portcullis::store::inspect::{self, Param};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::totp::{Enrolled, code_at};
use crate::helpers::{Browser, PASSWORD, SECRET_KEY, TestApp, db_test, location, spawn_app, spawn_app_with};
use portcullis::identity::second_factor::{ACCOUNT_MAX_FAILURES, CHALLENGE_MAX_ATTEMPTS};

const BURST: usize = 100;

async fn alice_with_2fa(app: &TestApp) -> (Browser, Enrolled) {
    let browser = app.browser();
    browser.sign_up("alice", "alice@example.com", PASSWORD).await;
    let enrolled = app.enrol(&browser, PASSWORD).await;
    (browser, enrolled)
}

/// A six-digit code that is not valid at any accepted step around now.
fn wrong_code(app: &TestApp, enrolled: &Enrolled) -> String {
    let valid: Vec<String> = [-30, 0, 30].iter().map(|d| code_at(&enrolled.secret, app.now() + d)).collect();
    (0..).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).unwrap()
}

fn checks(app: &TestApp) -> u64 {
    app.state.accounts.second_factor_checks()
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new().post(app.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The password step of the JSON login: the `mfa_token` for the second step.
async fn mfa_ticket(app: &TestApp) -> String {
    let (status, body) = post(app, "/login", json!({"username": "alice", "password": PASSWORD})).await;
    assert_eq!((status, body["mfa_required"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    body["mfa_token"].as_str().unwrap().to_string()
}

/// The password step on the hosted pages; returns the browser and its CSRF token.
async fn pages_password_step(app: &TestApp) -> (Browser, String) {
    let browser = app.browser();
    let res = browser.login("alice", PASSWORD).await;
    assert_eq!(location(&res), "/login/totp");
    let csrf = browser.csrf().await;
    (browser, csrf)
}

/// One submission of the code form with a CSRF token read beforehand (so bursts are pure POSTs).
async fn code_step(browser: &Browser, csrf: &str, code: &str) -> reqwest::Response {
    browser.post_form("/login/totp", &[("csrf_token", csrf), ("code", code)]).await
}

async fn exec(app: &TestApp, sql: &str, params: Vec<Param>) {
    inspect::execute_sql(&app.state.db, sql, params).await.unwrap();
}

/// The first column of each row, as text.
async fn column(app: &TestApp, sql: &str, params: Vec<Param>) -> Vec<String> {
    inspect::strings(&app.state.db, sql, params).await.unwrap().into_iter().map(|v| v.expect("text")).collect()
}

fn sha256_hex(text: &str) -> String {
    portcullis::secret::token_hash(text)
}

fn normalized(code: &str) -> String {
    code.replace('-', "").to_lowercase()
}

db_test!(
    async fn a_burst_of_wrong_codes_on_one_mfa_token_checks_only_its_attempts_and_then_the_token_is_dead(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let ticket = mfa_ticket(&app).await;
        let wrong = wrong_code(&app, &enrolled);
        let before = checks(&app);

        let burst = (0..BURST).map(|_| post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": wrong})));
        let answers = join_all(burst).await;

        assert!(answers.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED), "every wrong code is refused");
        assert_eq!(checks(&app) - before, CHALLENGE_MAX_ATTEMPTS as u64, "only the token's attempts reach a secret");
        let right = code_at(&enrolled.secret, app.now());
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": right})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")), "{body}");
        assert!(body.get("access_token").is_none());
        assert_eq!(checks(&app) - before, CHALLENGE_MAX_ATTEMPTS as u64, "a dead token checks nothing");
    }
);

db_test!(
    async fn a_successful_mfa_token_is_used_up(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        let ticket = mfa_ticket(&app).await;
        let (status, _) = post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": enrolled.recovery_codes[0]})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": enrolled.recovery_codes[1]})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")), "{body}");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL").await, 1, "nothing more spent");
    }
);

db_test!(
    async fn a_burst_of_wrong_codes_over_many_mfa_tokens_stops_at_the_account_budget(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let mut tickets = vec![];
        for _ in 0..BURST / CHALLENGE_MAX_ATTEMPTS as usize {
            tickets.push(mfa_ticket(&app).await);
        }
        let wrong = wrong_code(&app, &enrolled);
        let before = checks(&app);

        let each = tickets.iter().flat_map(|t| std::iter::repeat_n(t, CHALLENGE_MAX_ATTEMPTS as usize));
        let burst = each.map(|t| post(&app, "/login/mfa", json!({"mfa_token": t, "code": wrong})));
        let answers = join_all(burst).await;

        assert_eq!(answers.len(), BURST);
        assert!(answers.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED));
        assert_eq!(checks(&app) - before, ACCOUNT_MAX_FAILURES as u64, "the account's window bounds all tokens together");
        app.clock.advance(time::Duration::seconds(60));
        portcullis::startup::housekeep(&app.state).await;
        let fresh = mfa_ticket(&app).await;
        let right = code_at(&enrolled.secret, app.now());
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": fresh, "code": right})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_code")), "even the right code waits");
        assert_eq!(checks(&app) - before, ACCOUNT_MAX_FAILURES as u64, "and is not even checked, housekeeping or not");

        app.clock.advance(time::Duration::seconds(841));
        let fresh = mfa_ticket(&app).await;
        let right = code_at(&enrolled.secret, app.now());
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": fresh, "code": right})).await;
        assert_eq!(status, StatusCode::OK, "after the window: {body}");
    }
);

db_test!(
    async fn a_burst_of_wrong_codes_in_one_sign_in_on_the_pages_checks_only_its_attempts(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let (browser, csrf) = pages_password_step(&app).await;
        let wrong = wrong_code(&app, &enrolled);
        let before = checks(&app);

        let fields = [("csrf_token", csrf.as_str()), ("code", wrong.as_str())];
        let burst = (0..BURST).map(|_| browser.post_form("/login/totp", &fields));
        let answers = join_all(burst).await;

        assert!(answers.iter().all(|r| r.status() != StatusCode::OK && location(r) != "/profile"), "nobody got in");
        assert_eq!(checks(&app) - before, CHALLENGE_MAX_ATTEMPTS as u64, "only the step's attempts reach a secret");
        let right = code_at(&enrolled.secret, app.now());
        let res = browser.post_form("/login/totp", &[("csrf_token", &csrf), ("code", &right)]).await;
        assert_ne!(location(&res), "/profile", "the right code after the burst is refused");
        assert_eq!(location(&browser.get("/profile").await), "/login?next=%2Fprofile", "and the session is not signed in");
        assert_eq!(checks(&app) - before, CHALLENGE_MAX_ATTEMPTS as u64);
    }
);

db_test!(
    async fn a_burst_of_wrong_codes_over_many_sign_ins_on_the_pages_stops_at_the_account_budget(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let mut steps = vec![];
        for _ in 0..BURST / CHALLENGE_MAX_ATTEMPTS as usize {
            steps.push(pages_password_step(&app).await);
        }
        let wrong = wrong_code(&app, &enrolled);
        let before = checks(&app);

        let each = steps.iter().flat_map(|step| std::iter::repeat_n(step, CHALLENGE_MAX_ATTEMPTS as usize));
        let burst = each.map(|(browser, csrf)| code_step(browser, csrf, &wrong));
        let answers = join_all(burst).await;

        assert_eq!(answers.len(), BURST);
        assert!(answers.iter().all(|r| r.status() != StatusCode::OK && location(r) != "/profile"), "nobody got in");
        assert_eq!(checks(&app) - before, ACCOUNT_MAX_FAILURES as u64, "the account's window bounds all sessions together");
        let (browser, csrf) = pages_password_step(&app).await;
        let right = code_at(&enrolled.secret, app.now());
        let res = code_step(&browser, &csrf, &right).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "even the right code waits");
        assert_eq!(checks(&app) - before, ACCOUNT_MAX_FAILURES as u64, "and is not even checked");
    }
);

db_test!(
    async fn with_2fa_on_a_new_authenticator_needs_a_current_code_as_well_as_the_password(backend) {
        let app = spawn_app(backend).await;
        let (browser, enrolled) = alice_with_2fa(&app).await;
        let pending = || app.scalar("SELECT COUNT(*) FROM users WHERE totp_pending IS NOT NULL");

        let res = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let page = res.text().await.unwrap();
        assert!(page.contains("Two-factor authentication is on: enter the current code"), "a clear message");
        assert!(!page.contains("otpauth://"), "no new secret shown");
        assert_eq!(pending().await, 0, "and none stored");

        let wrong = wrong_code(&app, &enrolled);
        let res = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD), ("mfa_code", &wrong)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains("That code is not valid."));
        let code = code_at(&enrolled.secret, app.now() + 30);
        let res = browser.submit("/profile/2fa/setup", &[("mfa_current_password", "wrong password"), ("mfa_code", &code)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a code without the password is not enough either");
        assert_eq!(pending().await, 0);

        app.clock.advance(time::Duration::seconds(30));
        let res = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD), ("mfa_code", &code)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.text().await.unwrap().contains("otpauth://totp/Portcullis:alice"), "the new secret to scan");
        assert_eq!(pending().await, 1);

        let res = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD), ("mfa_code", &enrolled.recovery_codes[0])]).await;
        assert_eq!(res.status(), StatusCode::OK, "a recovery code serves as the second factor too");
    }
);

db_test!(
    async fn with_2fa_on_new_recovery_codes_need_a_current_code_as_well_as_the_password(backend) {
        let app = spawn_app(backend).await;
        let (browser, enrolled) = alice_with_2fa(&app).await;
        let stored_before = app.scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL").await;

        let res = browser.submit("/profile/2fa/recovery-codes", &[("codes_current_password", PASSWORD)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let page = res.text().await.unwrap();
        assert!(page.contains("Two-factor authentication is on: enter the current code"), "a clear message");
        assert!(!page.contains("id=\"recovery-codes\""), "no codes shown");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL").await, stored_before, "nothing replaced");

        app.clock.advance(time::Duration::seconds(30));
        let code = code_at(&enrolled.secret, app.now());
        let res = browser.submit("/profile/2fa/recovery-codes", &[("codes_current_password", PASSWORD), ("codes_code", &code)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("Your new recovery codes"));
        let old = &enrolled.recovery_codes[0];
        let res = browser.submit("/profile/2fa/recovery-codes", &[("codes_current_password", PASSWORD), ("codes_code", old)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the old set no longer works");
    }
);

db_test!(
    async fn asking_for_new_recovery_codes_with_2fa_off_leads_back_to_the_profile(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let res = browser.submit("/profile/2fa/recovery-codes", &[("codes_current_password", PASSWORD)]).await;
        assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/profile".to_string()), "not a 500");
    }
);

db_test!(
    async fn recovery_codes_are_stored_as_keyed_hashes_that_depend_on_the_secret_key(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        let stored: Vec<(String, String)> =
            inspect::rows(&app.state.db, "SELECT code_hash, hash_scheme FROM recovery_codes", vec![])
                .await
                .unwrap()
                .iter()
                .map(|r| (r["code_hash"].as_str().unwrap().to_string(), r["hash_scheme"].as_str().unwrap().to_string()))
                .collect();
        assert_eq!(stored.len(), 10);
        let ours = portcullis::crypto::KeyedHash::derive(&portcullis::secret::Secret::new(SECRET_KEY), "recovery-codes").unwrap();
        let another =
            portcullis::crypto::KeyedHash::derive(&portcullis::secret::Secret::new("another-secret-key-0123456789-abcdef"), "recovery-codes")
                .unwrap();
        for code in &enrolled.recovery_codes {
            let code = normalized(code);
            assert!(stored.iter().all(|(h, _)| *h != sha256_hex(&code)), "not SHA-256 of the code");
            assert!(stored.contains(&(ours.hash(&code).unwrap(), "hmac".to_string())), "HMAC under the derived key");
            assert!(stored.iter().all(|(h, _)| *h != another.hash(&code).unwrap()), "another SECRET_KEY, another value");
        }
    }
);

db_test!(
    async fn a_recovery_code_works_exactly_once_even_in_parallel(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        let code = &enrolled.recovery_codes[3];
        let (a, b) = (mfa_ticket(&app).await, mfa_ticket(&app).await);
        let answers = join_all([
            post(&app, "/login/mfa", json!({"mfa_token": a, "code": code})),
            post(&app, "/login/mfa", json!({"mfa_token": b, "code": code})),
        ])
        .await;
        let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| s.as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 401]);
        let (status, _) = post(&app, "/login/mfa", json!({"mfa_token": mfa_ticket(&app).await, "code": code})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "used up");
    }
);

db_test!(
    async fn a_recovery_code_stored_before_keyed_hashes_is_rekeyed_at_start_and_still_works_once(backend) {
        let app = spawn_app(backend).await;
        alice_with_2fa(&app).await;
        let user = app.user_id("alice").await;
        // As the previous release stored it: plain SHA-256 of the normalized code, no scheme.
        let legacy = "abcde-fghjk";
        exec(
            &app,
            "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, 0)",
            vec![sha256_hex(&normalized(legacy)).into(), user.into()],
        )
        .await;
        assert_eq!(app.scalar("SELECT COUNT(*) FROM recovery_codes WHERE hash_scheme = 'sha256'").await, 1, "marked legacy");

        // The next start re-keys it in place.
        let url = app.database_url.clone();
        let restarted = spawn_app_with(backend, |s| s.database_url = portcullis::secret::Secret::new(url)).await;
        assert_eq!(restarted.scalar("SELECT COUNT(*) FROM recovery_codes WHERE hash_scheme = 'sha256'").await, 0);
        let plain = inspect::count(&restarted.state.db, "SELECT COUNT(*) FROM recovery_codes WHERE code_hash = $1", vec![sha256_hex(&normalized(legacy)).into()]).await.unwrap();
        assert_eq!(plain, 0, "no plain SHA-256 left in the table");
        assert_eq!(restarted.scalar("SELECT COUNT(*) FROM recovery_codes WHERE hash_scheme = 'hmac-of-sha256'").await, 1);

        let browser = restarted.browser();
        assert_eq!(location(&browser.login("alice", PASSWORD).await), "/login/totp");
        let res = browser.submit("/login/totp", &[("code", &legacy.to_uppercase())]).await;
        assert_eq!(res.status(), StatusCode::OK, "the old code still signs in");
        let browser = restarted.browser();
        browser.login("alice", PASSWORD).await;
        assert_eq!(browser.submit("/login/totp", &[("code", legacy)]).await.status(), StatusCode::UNAUTHORIZED, "once");
    }
);

db_test!(
    async fn guesses_at_an_enrolment_confirmation_draw_on_the_account_budget(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let page = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD)]).await.text().await.unwrap();
        let shown = page.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap();
        let enrolled = Enrolled { secret: crate::helpers::totp::base32_decode(shown), recovery_codes: vec![] };
        let wrong = wrong_code(&app, &enrolled);
        let csrf = browser.csrf().await;
        let fields = [("csrf_token", csrf.as_str()), ("code", wrong.as_str())];
        let burst = (0..BURST).map(|_| browser.post_form("/profile/2fa/confirm", &fields));
        assert!(join_all(burst).await.iter().all(|r| r.status() == StatusCode::BAD_REQUEST));

        let right = code_at(&enrolled.secret, app.now());
        let res = browser.submit("/profile/2fa/confirm", &[("code", &right)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the budget is spent: no recovery codes for a guesser");
        app.clock.advance(time::Duration::seconds(901));
        let right = code_at(&enrolled.secret, app.now());
        let res = browser.submit("/profile/2fa/confirm", &[("code", &right)]).await;
        assert_eq!(res.status(), StatusCode::OK, "after the window the owner confirms");
    }
);

db_test!(
    async fn a_new_password_ends_the_sign_ins_waiting_for_their_second_factor(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        let ticket = mfa_ticket(&app).await;
        let email = portcullis::identity::email::Email::parse("alice@example.com").unwrap();
        app.state.accounts.request_password_reset(&email, "127.0.0.1".parse().unwrap()).await.unwrap();
        let body = app.mail_text("Reset your password").await;
        let token = body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        app.state.accounts.reset_password(&token, "a new long passphrase").await.unwrap();

        app.clock.advance(time::Duration::seconds(30));
        let right = code_at(&enrolled.secret, app.now());
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": ticket, "code": right})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")), "{body}");
    }
);

db_test!(
    async fn no_stored_value_opens_a_second_factor_step(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        let ticket = mfa_ticket(&app).await;
        let (_browser, _) = pages_password_step(&app).await;
        let stored: Vec<String> = column(&app, "SELECT token_hash FROM mfa_challenges", vec![]).await;
        assert_eq!(stored.len(), 2, "one challenge per sign-in");
        assert!(stored.contains(&sha256_hex(&ticket)) && !stored.contains(&ticket), "the ticket is stored hashed");
        let data: Vec<String> =
            column(&app, "SELECT data FROM sessions", vec![]).await;
        let kept = data
            .iter()
            .find_map(|d| d.split("\"mfa_challenge\":\"").nth(1).map(|rest| rest.split('"').next().unwrap().to_string()))
            .expect("the pending step names its challenge");
        assert!(stored.contains(&kept), "by its hash only");

        app.clock.advance(time::Duration::seconds(30));
        let right = code_at(&enrolled.secret, app.now());
        let (status, body) = post(&app, "/login/mfa", json!({"mfa_token": kept, "code": right})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")), "{body}");
    }
);

db_test!(
    async fn a_device_becomes_known_only_once_the_second_factor_is_proven(backend) {
        let app = spawn_app(backend).await;
        let (_, enrolled) = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let devices = app.count("known_devices").await;

        let (_, body) = post(&app, "/login", json!({"username": "alice", "password": PASSWORD})).await;
        assert_eq!((body["mfa_required"].as_bool(), body.get("device_token")), (Some(true), None));
        let (browser, csrf) = pages_password_step(&app).await;
        assert_eq!(app.count("known_devices").await, devices, "a correct password alone makes no device known");

        let res = code_step(&browser, &csrf, &code_at(&enrolled.secret, app.now())).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(browser.cookie("portcullis_device").is_some(), "the browser is known after the second factor");
        assert_eq!(app.count("known_devices").await, devices + 1, "and only then");
    }
);
