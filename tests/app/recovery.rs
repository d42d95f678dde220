//! Password reset by e-mail link.

use futures::future::join_all;
use reqwest::header::HOST;
use time::Duration;

use crate::helpers::{Browser, PASSWORD, TestApp, db_test, spawn_app_with_smtp};

const NEW_PASSWORD: &str = "a brand new passphrase";
const LINK: &str = "/reset-password/confirm?token=";

async fn request_reset(app: &TestApp, address: &str) -> reqwest::Response {
    app.browser().submit("/reset-password", &[("email", address)]).await
}

/// Requests a reset and returns the path of the newest reset link sent to `address`, the
/// `nth` (1-based) that address received.
async fn reset_link(app: &TestApp, address: &str, nth: usize) -> String {
    assert_eq!(request_reset(app, address).await.status(), 200);
    let mails = app.smtp().wait_for_n(address, "Reset your password", nth).await;
    app.local(&mails[nth - 1].link(&app.link_to(LINK)))
}

async fn choose_password(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    let form = browser.get(link).await;
    assert_eq!(form.status(), 200, "the link shows the form");
    choose_password_raw(browser, link, password).await
}

db_test!(
    async fn a_reset_link_sets_a_new_password_ends_sessions_and_sends_a_notice(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let signed_in = app.browser();
        signed_in.sign_up("alice", "alice@example.com", PASSWORD).await;
        let before = app.snapshot().await;

        let link = reset_link(&app, "alice@example.com", 1).await;
        assert_eq!(app.snapshot().await, before, "requesting a reset changes nothing");

        let browser = app.browser();
        let res = choose_password(&browser, &link, NEW_PASSWORD).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Your password was changed"));
        assert_eq!(browser.get("/profile").await.status(), 303, "no automatic sign-in");
        assert_eq!(signed_in.get("/profile").await.status(), 303, "existing sessions ended");

        assert_eq!(browser.login("alice", PASSWORD).await.status(), 401);
        assert_eq!(browser.login("alice", NEW_PASSWORD).await.status(), 303);
        app.smtp().wait_for("alice@example.com", "Your password was changed").await;

        let reused = choose_password_raw(&app.browser(), &link, "yet another passphrase").await;
        assert_eq!(reused.status(), 400, "a used link does nothing");
        assert!(reused.text().await.unwrap().contains("Link not valid"));
        assert_eq!(app.browser().get(&link).await.status(), 400, "and shows no form");
    }
);

/// Posts the reset form without first checking that the link shows it.
async fn choose_password_raw(browser: &Browser, link: &str, password: &str) -> reqwest::Response {
    let token = link.split("token=").nth(1).unwrap().to_string();
    let token = url::form_urlencoded::parse(format!("t={token}").as_bytes()).next().unwrap().1.into_owned();
    browser
        .submit(
            "/reset-password/confirm",
            &[("token", token.as_str()), ("new_password", password), ("confirm_password", password)],
        )
        .await
}

db_test!(
    async fn an_expired_link_is_refused_and_the_account_is_untouched(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let link = reset_link(&app, "alice@example.com", 1).await;
        let before = app.snapshot().await;
        app.clock.advance(Duration::minutes(31));
        let browser = app.browser();
        assert_eq!(browser.get(&link).await.status(), 400);
        assert_eq!(choose_password_raw(&browser, &link, NEW_PASSWORD).await.status(), 400);
        assert_eq!(app.snapshot().await, before);
    }
);

db_test!(
    async fn a_token_serves_only_its_own_purpose(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let verify = app.smtp().wait_for("alice@example.com", "Confirm").await;
        let verify_token = verify.link(&app.link_to("/verify-email?token=")).split("token=").nth(1).unwrap().to_string();
        let before = app.snapshot().await;
        let browser = app.browser();
        assert_eq!(browser.get(&format!("/reset-password/confirm?token={verify_token}")).await.status(), 400);
        let link = format!("/reset-password/confirm?token={verify_token}");
        assert_eq!(choose_password_raw(&browser, &link, NEW_PASSWORD).await.status(), 400);
        assert_eq!(app.snapshot().await, before, "a confirmation token resets nothing");

        let reset = reset_link(&app, "alice@example.com", 1).await;
        let reset_token = reset.split("token=").nth(1).unwrap();
        assert_eq!(browser.get(&format!("/verify-email?token={reset_token}")).await.status(), 400);
        assert_eq!(browser.get(&reset).await.status(), 200, "and the reset link still works after that");
    }
);

db_test!(
    async fn two_parallel_submissions_of_one_link_succeed_exactly_once(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let link = reset_link(&app, "alice@example.com", 1).await;
        let (a, b) = (app.browser(), app.browser());
        let (ta, tb) = (a.csrf().await, b.csrf().await);
        let token = url::form_urlencoded::parse(link.split('?').nth(1).unwrap().as_bytes()).next().unwrap().1.into_owned();
        let submit = |browser: &Browser, csrf: String, password: &'static str| {
            let token = token.clone();
            let client = browser.client.clone();
            let url = browser.url("/reset-password/confirm");
            async move {
                let fields = [("csrf_token", csrf), ("token", token), ("new_password", password.into()), ("confirm_password", password.into())];
                client.post(url).form(&fields).send().await.unwrap().status().as_u16()
            }
        };
        let results = join_all([submit(&a, ta, "first parallel passphrase"), submit(&b, tb, "second parallel passphrase")]).await;
        let mut sorted = results.clone();
        sorted.sort();
        assert_eq!(sorted, [200, 400], "exactly one success: {results:?}");
        let winner = if results[0] == 200 { "first parallel passphrase" } else { "second parallel passphrase" };
        assert_eq!(app.browser().login("alice", winner).await.status(), 303);
    }
);

db_test!(
    async fn a_newer_request_voids_the_older_link(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let first = reset_link(&app, "alice@example.com", 1).await;
        let second = reset_link(&app, "alice@example.com", 2).await;
        assert_ne!(first, second);
        assert_eq!(app.browser().get(&first).await.status(), 400, "the older link is void");
        assert_eq!(choose_password(&app.browser(), &second, NEW_PASSWORD).await.status(), 200);
    }
);

db_test!(
    async fn known_and_unknown_addresses_get_identical_answers(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let browser = app.browser();
        let known = browser.submit("/reset-password", &[("email", "alice@example.com")]).await;
        let unknown = browser.submit("/reset-password", &[("email", "nobody@example.com")]).await;
        assert_eq!(known.status(), unknown.status());
        assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap(), "byte for byte");
        app.smtp().wait_for("alice@example.com", "Reset your password").await;
        assert!(app.smtp().messages_to("nobody@example.com").is_empty());
    }
);

db_test!(
    async fn the_host_header_does_not_change_the_link(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let browser = app.browser();
        let csrf = browser.csrf().await;
        let res = browser
            .client
            .post(browser.url("/reset-password"))
            .header(HOST, "evil.test")
            .header("X-Forwarded-Host", "evil.test")
            .form(&[("csrf_token", csrf.as_str()), ("email", "alice@example.com")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mail = app.smtp().wait_for("alice@example.com", "Reset your password").await;
        assert!(!mail.body.contains("evil.test"));
        assert!(mail.link(&app.link_to(LINK)).starts_with(&app.issuer));
    }
);

db_test!(
    async fn cr_lf_in_the_address_is_refused_and_sends_nothing(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let queued = app.count("mail_outbox").await;
        let browser = app.browser();
        let csrf = browser.csrf().await;
        let body = format!("csrf_token={csrf}&email=alice%40example.com%0D%0ABcc%3A+victim%40example.com");
        let res = browser.post_raw("/reset-password", "application/x-www-form-urlencoded", body.into_bytes()).await;
        assert_eq!(res.status(), 400);
        assert!(res.text().await.unwrap().contains("control characters"));
        let res = browser.submit("/reset-password", &[("email", "alice@example.com\r\nBcc: victim@example.com")]).await;
        assert_eq!(res.status(), 400);
        assert_eq!(app.count("mail_outbox").await, queued, "no mail was queued");
    }
);

db_test!(
    async fn a_flood_sends_only_a_few_mails_to_one_address(backend) {
        let app = spawn_app_with_smtp(backend, |s| s.account.reset_max_per_address = 3).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        for _ in 0..8 {
            assert_eq!(request_reset(&app, "alice@example.com").await.status(), 200, "always the same answer");
        }
        app.smtp().wait_for_n("alice@example.com", "Reset your password", 3).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(app.smtp().messages_to("alice@example.com").iter().filter(|m| m.subject.contains("Reset")).count(), 3);
    }
);

db_test!(
    async fn a_reset_lifts_the_login_delay_a_flood_caused(backend) {
        let app = spawn_app_with_smtp(backend, |s| s.login.free_failures = 2).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let attacker = app.browser();
        for _ in 0..4 {
            attacker.login("alice", "guess").await;
        }
        // 429, not 401, since issue 12: the locked name's password is not checked.
        assert_eq!(app.browser().login("alice", PASSWORD).await.status(), 429, "a new device waits");
        let link = reset_link(&app, "alice@example.com", 1).await;
        assert_eq!(choose_password(&app.browser(), &link, NEW_PASSWORD).await.status(), 200, "reset stays available");
        assert_eq!(app.browser().login("alice", NEW_PASSWORD).await.status(), 303);
    }
);
