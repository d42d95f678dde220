//! Two-factor authentication, with a frozen clock and codes from an independent RFC 6238
//! implementation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;

use crate::helpers::oidc::{ClientSpec, authorize_path, param, pkce};
use crate::helpers::totp::code_at;
use crate::helpers::{Browser, PASSWORD, TestApp, db_test, location, spawn_app};

async fn alice_with_2fa(app: &TestApp) -> crate::helpers::totp::Enrolled {
    let browser = app.browser();
    browser.sign_up("alice", "alice@example.com", PASSWORD).await;
    app.enrol(&browser, PASSWORD).await
}

/// Password step: the browser ends up in front of the code form.
async fn password_step(app: &TestApp) -> Browser {
    let browser = app.browser();
    let res = browser.login("alice", PASSWORD).await;
    assert_eq!(location(&res), "/login/totp", "a correct password leads to the code step");
    browser
}

async fn code_step(browser: &Browser, code: &str) -> reqwest::Response {
    browser.submit("/login/totp", &[("code", code)]).await
}

db_test!(
    async fn enrolment_shows_a_qr_code_and_counts_only_after_a_confirming_code(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let wrong_password = browser.submit("/profile/2fa/setup", &[("mfa_current_password", "nope")]).await;
        assert_eq!(wrong_password.status(), 400, "enrolment needs the current password");

        let page = browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD)]).await.text().await.unwrap();
        assert!(page.contains("<svg") && page.contains("otpauth://totp/Portcullis:alice"));
        assert_eq!(app.browser().login("alice", PASSWORD).await.status(), 303);
        assert_eq!(location(&app.browser().login("alice", PASSWORD).await), "/profile", "not on before confirmation");
        let bad = browser.submit("/profile/2fa/confirm", &[("code", "000000")]).await;
        assert_eq!(bad.status(), 400);

        let enrolled = app.enrol(&browser, PASSWORD).await;
        assert_eq!(enrolled.recovery_codes.len(), 10);
        assert!(browser.text("/profile").await.contains("is <strong>on</strong>"));
        let stored = app.scalar("SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL AND totp_secret LIKE 'v1.%'").await;
        assert_eq!(stored, 1, "the secret is stored sealed");
    }
);

db_test!(
    async fn sign_in_needs_the_code_and_the_partial_session_opens_nothing(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        let client = app.client("first", ClientSpec { first_party: true, ..Default::default() }).await;
        let browser = password_step(&app).await;
        assert_eq!(location(&browser.get("/profile").await), "/login?next=%2Fprofile", "no profile");
        let (verifier, challenge) = pkce();
        let res = browser.get(&authorize_path("first", &challenge, &[])).await;
        assert!(location(&res).starts_with("/login"), "no authorization");
        assert!(param(&location(&res), "code").is_none());

        app.clock.advance(time::Duration::seconds(30));
        let res = code_step(&browser, &code_at(&enrolled.secret, app.now())).await;
        assert_eq!(location(&res), "/profile");
        assert_eq!(browser.get("/profile").await.status(), 200);

        let res = browser.get(&authorize_path("first", &challenge, &[])).await;
        let code = param(&location(&res), "code").expect("a code after both factors");
        let tokens = app.exchange(&client, &code, &verifier).await.1;
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp"]));
        assert_eq!(claims["acr"], "urn:portcullis:acr:mfa");
    }
);

db_test!(
    async fn a_code_is_accepted_once_and_reuse_gets_the_generic_message(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let code = code_at(&enrolled.secret, app.now());
        assert_eq!(location(&code_step(&password_step(&app).await, &code).await), "/profile");
        let replay = code_step(&password_step(&app).await, &code).await;
        assert_eq!(replay.status(), 401);
        let wrong = code_step(&password_step(&app).await, "123456").await;
        assert_eq!(wrong.status(), 401);
        let (replay, wrong) = (replay.text().await.unwrap(), wrong.text().await.unwrap());
        let message = "That code is not valid.";
        assert!(replay.contains(message) && wrong.contains(message), "reuse and a wrong code read the same");
    }
);

db_test!(
    async fn two_parallel_submissions_of_one_code_succeed_exactly_once(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let code = code_at(&enrolled.secret, app.now());
        let (a, b) = (password_step(&app).await, password_step(&app).await);
        let results = join_all([code_step(&a, &code), code_step(&b, &code)]).await;
        let mut statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [303, 401]);
    }
);

db_test!(
    async fn neighbouring_steps_are_accepted_and_older_or_farther_ones_refused(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        app.clock.advance(time::Duration::seconds(120));
        let t = app.now();
        let s = &enrolled.secret;
        assert_eq!(code_step(&password_step(&app).await, &code_at(s, t - 60)).await.status(), 401, "t-2");
        assert_eq!(code_step(&password_step(&app).await, &code_at(s, t + 60)).await.status(), 401, "t+2");
        assert_eq!(code_step(&password_step(&app).await, &code_at(s, t - 30)).await.status(), 303, "t-1");
        assert_eq!(code_step(&password_step(&app).await, &code_at(s, t + 30)).await.status(), 303, "t+1");
        assert_eq!(code_step(&password_step(&app).await, &code_at(s, t)).await.status(), 401, "older than the last accepted step");
    }
);

db_test!(
    async fn a_recovery_code_works_once_and_says_how_many_remain(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        let code = enrolled.recovery_codes[0].to_uppercase();
        let res = code_step(&password_step(&app).await, &code).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("You have 9 left"));
        assert_eq!(code_step(&password_step(&app).await, &code).await.status(), 401, "used up");
    }
);

db_test!(
    async fn repeated_wrong_codes_void_the_step_and_ask_for_the_password_again(backend) {
        let app = spawn_app(backend).await;
        alice_with_2fa(&app).await;
        let browser = password_step(&app).await;
        for _ in 0..4 {
            assert_eq!(code_step(&browser, "000000").await.status(), 401);
        }
        let last = code_step(&browser, "000000").await;
        assert!(last.text().await.unwrap().contains("Too many wrong codes. Sign in again."));
        assert_eq!(location(&browser.get("/login/totp").await), "/login", "the step is gone");
    }
);

db_test!(
    async fn wrong_codes_are_counted_across_sessions(backend) {
        let app = spawn_app(backend).await;
        let enrolled = alice_with_2fa(&app).await;
        for _ in 0..2 {
            let browser = password_step(&app).await;
            for _ in 0..5 {
                code_step(&browser, "000000").await;
            }
        }
        app.clock.advance(time::Duration::seconds(30));
        let right = code_step(&password_step(&app).await, &code_at(&enrolled.secret, app.now())).await;
        assert_eq!(right.status(), 401, "ten failures across sessions: even the right code waits");
        app.clock.advance(time::Duration::seconds(901));
        let right = code_step(&password_step(&app).await, &code_at(&enrolled.secret, app.now())).await;
        assert_eq!(right.status(), 303, "after the window");
    }
);

db_test!(
    async fn turning_2fa_off_needs_the_password_and_a_code(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let enrolled = app.enrol(&browser, PASSWORD).await;
        app.clock.advance(time::Duration::seconds(30));
        let res = browser.submit("/profile/2fa/disable", &[("disable_current_password", PASSWORD), ("disable_code", "000000")]).await;
        assert_eq!(res.status(), 400, "a wrong code");
        let code = code_at(&enrolled.secret, app.now());
        let res = browser.submit("/profile/2fa/disable", &[("disable_current_password", "wrong"), ("disable_code", &code)]).await;
        assert_eq!(res.status(), 400, "a wrong password");
        let res = browser.submit("/profile/2fa/disable", &[("disable_current_password", PASSWORD), ("disable_code", &code)]).await;
        assert_eq!(location(&res), "/profile?done=2fa-off");
        assert_eq!(location(&app.browser().login("alice", PASSWORD).await), "/profile", "password alone again");
        let notices = app.count("mail_outbox WHERE subject = 'A security setting of your account changed'").await;
        assert_eq!(notices, 2, "turning 2FA on and off each sent a notice");
    }
);

db_test!(
    async fn a_client_that_requires_2fa_refuses_users_without_it(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("bobby", "bobby@example.com", PASSWORD).await;
        app.client("strict", ClientSpec { first_party: true, require_mfa: true, ..Default::default() }).await;
        app.client("lenient", ClientSpec { first_party: true, ..Default::default() }).await;
        let (_, challenge) = pkce();
        let browser = app.browser();
        browser.login("bobby", PASSWORD).await;
        let res = browser.get(&authorize_path("strict", &challenge, &[])).await;
        assert_eq!(param(&location(&res), "error").as_deref(), Some("unmet_authentication_requirements"));
        let res = browser.get(&authorize_path("lenient", &challenge, &[("acr_values", "urn:portcullis:acr:mfa")])).await;
        assert_eq!(param(&location(&res), "error").as_deref(), Some("unmet_authentication_requirements"), "acr_values too");
        let res = browser.get(&authorize_path("lenient", &challenge, &[])).await;
        assert!(param(&location(&res), "code").is_some());
    }
);

db_test!(
    async fn a_password_reset_leaves_2fa_on(backend) {
        let app = spawn_app(backend).await;
        alice_with_2fa(&app).await;
        let user = portcullis::identity::user::UserId::parse(&app.user_id("alice").await).unwrap();
        assert!(app.state.accounts.mfa_enabled(user).await.unwrap());
        let email = portcullis::identity::email::Email::parse("alice@example.com").unwrap();
        app.state.accounts.request_password_reset(&email, "127.0.0.1".parse().unwrap()).await.unwrap();
        let body = app.mail_text("Reset your password").await;
        let token = body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        app.state.accounts.reset_password(&token, "a new long passphrase").await.unwrap();
        assert!(app.state.accounts.mfa_enabled(user).await.unwrap(), "2FA stays on");
        let res = app.browser().login("alice", "a new long passphrase").await;
        assert_eq!(location(&res), "/login/totp", "and is still asked for");
    }
);
