//! The account lifecycle through the hosted pages.

use crate::helpers::{PASSWORD, db_test, location, spawn_app};

db_test!(
    async fn register_logout_login_edit_profile_change_password_and_login_with_the_new_one(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();

        let res = browser.register("alice", "Alice@Example.com", PASSWORD).await;
        assert_eq!(res.status(), 200, "registration answers with a page");
        assert!(res.text().await.unwrap().contains("Check your inbox"));
        assert_eq!(browser.get("/profile").await.status(), 303, "registration signs nobody in");
        assert_eq!(location(&browser.login("alice", PASSWORD).await), "/profile");
        let profile = browser.text("/profile").await;
        assert!(profile.contains("Alice@example.com"), "the profile shows the address");

        assert_eq!(location(&browser.logout().await), "/");
        let res = browser.get("/profile").await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/login?next=%2Fprofile".to_string()));

        let res = browser.login("alice", PASSWORD).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/profile".to_string()));

        let res = browser.submit("/profile", &[("display_name", "Alice Liddell")]).await;
        assert_eq!(location(&res), "/profile?done=name");
        let profile = browser.text("/profile?done=name").await;
        assert!(profile.contains("Alice Liddell") && profile.contains("Your display name was saved."));

        let new_password = "through the looking glass";
        let res = browser
            .submit(
                "/profile/password",
                &[("current_password", PASSWORD), ("new_password", new_password), ("confirm_password", new_password)],
            )
            .await;
        assert_eq!(location(&res), "/profile?done=password");

        browser.logout().await;
        assert_eq!(browser.login("alice", PASSWORD).await.status(), 401, "the old password no longer works");
        let res = browser.login("alice@example.com", new_password).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/profile".to_string()), "login by e-mail, new password");
    }
);

db_test!(
    async fn an_email_change_needs_the_current_password_and_waits_for_confirmation(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("bob", "bob@example.com", PASSWORD).await;
        let browser = app.browser();
        browser.sign_up("carol", "carol@example.com", PASSWORD).await;

        let res = browser.submit("/profile/email", &[("email", "carol@new.example"), ("email_current_password", "wrong")]).await;
        assert_eq!(res.status(), 400);
        assert!(res.text().await.unwrap().contains("The current password is not correct."));

        let before = app.snapshot().await;
        for address in ["BOB@example.com", "carol@new.example"] {
            let res = browser.submit("/profile/email", &[("email", address), ("email_current_password", PASSWORD)]).await;
            assert_eq!(location(&res), "/profile?done=email", "{address}: the same answer, taken or not");
        }
        assert_eq!(app.snapshot().await, before, "nothing changes before the link is followed");
        let profile = browser.text("/profile").await;
        assert!(profile.contains("carol@example.com") && profile.contains("Waiting for confirmation"));
    }
);

db_test!(
    async fn a_password_change_signs_out_every_other_session(backend) {
        let app = spawn_app(backend).await;
        let laptop = app.browser();
        laptop.sign_up("dave", "dave@example.com", PASSWORD).await;
        let phone = app.browser();
        assert_eq!(phone.login("dave", PASSWORD).await.status(), 303);

        let new_password = "a much longer passphrase";
        laptop
            .submit(
                "/profile/password",
                &[("current_password", PASSWORD), ("new_password", new_password), ("confirm_password", new_password)],
            )
            .await;

        assert_eq!(laptop.get("/profile").await.status(), 200, "the session that made the change stays");
        assert_eq!(phone.get("/profile").await.status(), 303, "the other session ended");
    }
);

db_test!(
    async fn password_changes_are_checked_against_the_policy(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("erin", "erin@example.com", PASSWORD).await;
        let before = app.snapshot().await;
        let cases = [
            ("password1", "password1", "most common passwords"),
            ("short", "short", "at least 8 characters"),
            ("a fine new passphrase", "a different one", "do not match"),
        ];
        for (new, confirm, expected) in cases {
            let res = browser
                .submit("/profile/password", &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", confirm)])
                .await;
            assert_eq!(res.status(), 400, "case {new:?}");
            assert!(res.text().await.unwrap().contains(expected), "case {new:?} shows {expected:?}");
        }
        assert_eq!(app.snapshot().await, before, "the password is unchanged");
    }
);
