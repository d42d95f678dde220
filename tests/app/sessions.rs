//! Browser sessions: fixation, server-side logout, idle and absolute timeouts.

use reqwest::header::COOKIE;
use time::Duration;

use crate::helpers::{PASSWORD, db_test, location, spawn_app, spawn_app_with};

db_test!(
    async fn the_session_id_changes_at_login(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let browser = app.browser();
        browser.get("/login").await;
        assert_eq!(browser.session_cookie(), None, "the login form alone opens no session");
        // Fixation: the attacker's own live session id, planted in the victim's browser.
        let attacker = app.browser();
        attacker.sign_up("mallory", "mallory@example.com", PASSWORD).await;
        let before = attacker.session_cookie().expect("the attacker's session");
        browser.jar.add_cookie_str(&format!("portcullis_session={before}; Path=/"), &app.base.parse().unwrap());
        assert_eq!(browser.login("alice", PASSWORD).await.status(), 303);
        let after = browser.session_cookie().expect("a session after login");
        assert_ne!(before, after, "login issues a new session id");

        let stale = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/profile"))
            .header(COOKIE, format!("portcullis_session={before}"))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 303, "the pre-login id opens nothing");
    }
);

db_test!(
    async fn logout_ends_the_session_on_the_server(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let cookie = browser.session_cookie().unwrap();
        let replay = || async {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(app.url("/profile"))
                .header(COOKIE, format!("portcullis_session={cookie}"))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(replay().await.status(), 200, "the copied cookie works before logout");
        let sessions_before = app.count("sessions").await;
        browser.logout().await;
        assert_eq!(app.count("sessions").await, sessions_before - 1, "the session row is gone");
        let res = replay().await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/login?next=%2Fprofile".to_string()));
    }
);

db_test!(
    async fn an_idle_session_expires(backend) {
        let app = spawn_app_with(backend, |s| s.session.idle_timeout_secs = 600).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        app.clock.advance(Duration::seconds(590));
        assert_eq!(browser.get("/profile").await.status(), 200, "activity within the idle timeout");
        app.clock.advance(Duration::seconds(590));
        assert_eq!(browser.get("/profile").await.status(), 200, "each request slides the idle deadline");
        app.clock.advance(Duration::seconds(601));
        assert_eq!(browser.get("/profile").await.status(), 303, "idle too long");
    }
);

db_test!(
    async fn an_active_session_still_ends_at_the_absolute_timeout(backend) {
        let app = spawn_app_with(backend, |s| {
            s.session.idle_timeout_secs = 600;
            s.session.absolute_timeout_secs = 1500;
        })
        .await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        for _ in 0..2 {
            app.clock.advance(Duration::seconds(500));
            assert_eq!(browser.get("/profile").await.status(), 200);
        }
        app.clock.advance(Duration::seconds(501));
        assert_eq!(browser.get("/profile").await.status(), 303, "1501 s after login");
    }
);
