//! E-mail confirmation: at registration, on an address change, and the rules around it.

use crate::helpers::{PASSWORD, db_test, location, spawn_app_with_smtp};

db_test!(
    async fn the_confirmation_link_works_once(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        assert!(browser.text("/profile").await.contains("not confirmed yet"));

        let mail = app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;
        let link = app.local(&mail.link(&app.link_to("/verify-email?token=")));
        let res = browser.get(&link).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Address confirmed"));
        let profile = browser.text("/profile").await;
        assert!(profile.contains("verified") && !profile.contains("not confirmed yet"));

        let again = browser.get(&link).await;
        assert_eq!(again.status(), 400, "a used link does nothing");
        assert!(again.text().await.unwrap().contains("Link not valid"));
        assert_eq!(browser.get("/verify-email?token=made-up").await.status(), 400);
    }
);

db_test!(
    async fn registering_a_taken_address_answers_like_a_new_one_and_tells_the_owner(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let fresh = app.browser().register("first", "first@example.com", PASSWORD).await;
        let fresh = (fresh.status(), fresh.text().await.unwrap());
        let users = app.count("users").await;

        let taken = app.browser().register("second", "First@Example.com", PASSWORD).await;
        assert_eq!((taken.status(), taken.text().await.unwrap()), fresh, "same status, same page");
        assert_eq!(app.count("users").await, users, "nothing was created");

        let notice = app.smtp().wait_for("first@example.com", "You already have an account").await;
        assert!(notice.body.contains("No new account was created"));
        assert_eq!(app.smtp().messages_to("first@example.com").len(), 2, "the confirmation and the notice");
    }
);

db_test!(
    async fn an_email_change_takes_effect_through_the_link_and_tells_the_old_address(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let res = browser.submit("/profile/email", &[("email", "alice@new.example"), ("email_current_password", PASSWORD)]).await;
        assert_eq!(location(&res), "/profile?done=email");

        let mail = app.smtp().wait_for("alice@new.example", "Confirm your e-mail address").await;
        let res = browser.get(&app.local(&mail.link(&app.link_to("/verify-email?token=")))).await;
        assert!(res.text().await.unwrap().contains("Address changed"));
        let profile = browser.text("/profile").await;
        assert!(profile.contains("alice@new.example") && !profile.contains("not confirmed yet"), "new and verified");

        let notice = app.smtp().wait_for("alice@example.com", "Your e-mail address was changed").await;
        assert!(notice.body.contains("alice@new.example"));
        assert_eq!(browser.login("alice@new.example", PASSWORD).await.status(), 303);
    }
);

db_test!(
    async fn resend_gives_a_new_link_and_voids_the_old_one(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let first = app.smtp().wait_for("alice@example.com", "Confirm").await;
        let res = browser.submit("/profile/verify-email", &[]).await;
        assert_eq!(location(&res), "/profile?done=verification-sent");
        let mails = app.smtp().wait_for_n("alice@example.com", "Confirm", 2).await;
        let first_link = app.local(&first.link(&app.link_to("/verify-email?token=")));
        let second = mails.iter().map(|m| app.local(&m.link(&app.link_to("/")))).find(|l| *l != first_link).unwrap();
        assert_eq!(browser.get(&first_link).await.status(), 400, "the older link is void");
        assert_eq!(browser.get(&second).await.status(), 200);
    }
);

db_test!(
    async fn with_require_verified_email_sign_in_waits_for_the_link(backend) {
        let app = spawn_app_with_smtp(backend, |s| s.account.require_verified_email = true).await;
        let browser = app.browser();
        browser.register("alice", "alice@example.com", PASSWORD).await;
        let res = browser.login("alice", PASSWORD).await;
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("Confirm your e-mail address first"));
        let res = browser.login("alice", "wrong password").await;
        assert_eq!(res.status(), 401, "a wrong password still gets the generic answer");

        let mail = app.smtp().wait_for_n("alice@example.com", "Confirm", 2).await.pop().unwrap();
        browser.get(&app.local(&mail.link(&app.link_to("/verify-email?token=")))).await;
        assert_eq!(browser.login("alice", PASSWORD).await.status(), 303);
    }
);
