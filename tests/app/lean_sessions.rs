//! Lean sessions: showing a form stores nothing (the CSRF token is stateless), a signed-in
//! page view writes nothing, and every property the session-kept token gave still holds:
//! a missing, forged or other browser's token is refused, sign-in rebinds the token, the
//! code flow works, an idle session ends.

use reqwest::Method;
use time::Duration;

use crate::helpers::oidc::{Consent, authorize_path, drive, param, pkce};
use crate::helpers::{Browser, PASSWORD, TestApp, csrf_in, db_test, location, spawn_app, spawn_app_with};
use portcullis::clock::Clock;
use portcullis::store::{inspect, schema};

/// Every row of every table but `skip`, as text: equal dumps mean nothing was written there.
async fn dump(app: &TestApp, skip: &[&str]) -> String {
    let mut out = String::new();
    for table in schema::tables(&app.state.db).await.expect("tables") {
        if skip.contains(&table.name.as_str()) {
            continue;
        }
        let quoted = schema::quoted(&table.name);
        let n = inspect::count(&app.state.db, &format!("SELECT COUNT(*) FROM {quoted}"), vec![]).await.expect("count");
        out.push_str(&format!("{} {n}\n", table.name));
        let rows = inspect::rows(&app.state.db, &format!("SELECT * FROM {quoted} ORDER BY 1"), vec![]).await;
        for row in rows.expect("rows") {
            out.push_str(&format!("  {row}\n"));
        }
    }
    out
}

/// Asserts two dumps are equal, naming only the lines that differ.
fn assert_same(after: &str, before: &str, what: &str) {
    let gone: Vec<&str> = before.lines().filter(|l| !after.lines().any(|a| a == *l)).collect();
    let new: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert!(gone.is_empty() && new.is_empty(), "{what}: before {gone:#?}, after {new:#?}");
}

/// The sessions table, every column.
async fn sessions(app: &TestApp) -> Vec<serde_json::Value> {
    inspect::rows(&app.state.db, "SELECT * FROM sessions ORDER BY id_hash", vec![]).await.expect("sessions")
}

async fn status(browser: &Browser, method: Method, path: &str) -> u16 {
    browser.client.request(method, browser.url(path)).send().await.expect("request").status().as_u16()
}

db_test!(
    async fn anonymous_views_of_the_sign_in_and_registration_forms_create_no_rows_at_all(backend) {
        let app = spawn_app(backend).await;
        // The key-rotation worker records its schedule once, just after start: not a visit's row.
        for _ in 0..200 {
            if app.count("key_schedule").await == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(app.count("key_schedule").await, 1, "the key schedule was recorded at start");
        let before = dump(&app, &[]).await;
        let returning = app.browser();
        for i in 0..200 {
            // Half from first-time visitors (no cookie at all), half from one returning browser.
            let fresh;
            let browser = if i % 2 == 0 {
                fresh = app.browser();
                &fresh
            } else {
                &returning
            };
            for path in ["/login", "/register", "/reset-password"] {
                assert_eq!(status(browser, Method::GET, path).await, 200, "GET {path}");
                assert_eq!(status(browser, Method::HEAD, path).await, 200, "HEAD {path}");
            }
        }
        assert_eq!(returning.session_cookie(), None, "no session cookie was handed out");
        assert!(returning.cookie("portcullis_csrf").is_some(), "the browser holds its CSRF seed instead");
        assert_same(&dump(&app, &[]).await, &before, "no table changed");
    }
);

db_test!(
    async fn signed_in_page_views_write_nothing_until_the_idle_deadline_must_slide(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let signed_in = sessions(&app).await;
        assert_eq!(signed_in.len(), 1, "the sign-in wrote one session");
        // The mail worker delivers the registration mail meanwhile: its outbox row changes.
        let before = dump(&app, &["mail_outbox"]).await;
        for _ in 0..50 {
            // 50 views over 50 s: well inside the slide step (a tenth of the 30-minute timeout).
            app.clock.advance(Duration::seconds(1));
            assert_eq!(browser.get("/profile").await.status(), 200);
        }
        let after = dump(&app, &["mail_outbox"]).await;
        assert_same(&after, &before, "no session row added, none written, nothing else either");

        let step = app.state.sessions.touch_step();
        app.clock.advance(Duration::seconds(step));
        assert_eq!(browser.get("/profile").await.status(), 200);
        let slid = sessions(&app).await;
        let idle = app.state.settings.session.idle_timeout_secs;
        assert_eq!(slid[0]["expires_at"].as_i64(), Some(app.clock.unix() + idle), "slid once the step was reached");
        assert_eq!(slid[0]["data"], signed_in[0]["data"], "the data is untouched");
        app.clock.advance(Duration::seconds(1));
        assert_eq!(browser.get("/profile").await.status(), 200);
        assert_eq!(sessions(&app).await, slid, "and not again on the next view");
    }
);

db_test!(
    async fn an_anonymous_sign_in_without_this_browsers_own_token_is_refused_with_the_friendly_page(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let victim = app.browser();
        let victims_token = csrf_in(&victim.text("/login").await).expect("a token on the form");
        let seed = victim.cookie("portcullis_csrf").expect("a seed cookie");
        let attacker = app.browser();
        let attackers_token = csrf_in(&attacker.text("/login").await).expect("a token on the form");
        assert_ne!(victims_token, attackers_token, "each browser has its own token");
        let cookieless = app.browser();

        let credentials = [("username", "alice"), ("password", PASSWORD)];
        let cases: [(&str, &Browser, Option<&str>); 6] = [
            ("no token", &victim, None),
            ("an empty token", &victim, Some("")),
            ("a forged token", &victim, Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")),
            ("the seed itself", &victim, Some(&seed)),
            ("another browser's token (login CSRF)", &victim, Some(&attackers_token)),
            ("a token without its seed cookie", &cookieless, Some(&victims_token)),
        ];
        for (case, browser, token) in cases {
            let mut fields: Vec<(&str, &str)> = credentials.to_vec();
            if let Some(token) = token {
                fields.push(("csrf_token", token));
            }
            let res = browser.post_form("/login", &fields).await;
            assert_eq!(res.status(), 403, "{case}");
            assert!(res.text().await.unwrap().contains("Form expired"), "{case}: the friendly page");
            assert_eq!(browser.get("/profile").await.status(), 303, "{case}: nobody signed in");
        }
        assert_eq!(app.count("sessions").await, 0, "no refused attempt stored a session");

        let fields = [("csrf_token", victims_token.as_str()), ("username", "alice"), ("password", PASSWORD)];
        assert_eq!(victim.post_form("/login", &fields).await.status(), 303, "its own token signs in");
        let res = victim.post_form("/logout", &[("csrf_token", victims_token.as_str())]).await;
        assert_eq!(res.status(), 403, "a token shown before the sign-in opens nothing after it");
        assert_eq!(victim.get("/profile").await.status(), 200, "still signed in");
        assert_eq!(victim.logout().await.status(), 303, "the signed-in form's own token works");
        assert_eq!(app.count("sessions").await, 0, "logout ended the session");
    }
);

db_test!(
    async fn register_login_authorize_and_consent_still_work_and_only_the_sign_in_writes_a_session(backend) {
        let app = spawn_app(backend).await;
        let client = app.web_client("rp").await;
        let browser = app.browser();
        assert_eq!(browser.register("alice", "alice@example.com", PASSWORD).await.status(), 200);
        assert_eq!(app.count("sessions").await, 0, "registering stores no session");
        let (verifier, challenge) = pkce();
        let back = drive(&browser, &authorize_path(&client.id, &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
        let code = param(&back, "code").unwrap_or_else(|| panic!("a code in {back}"));
        assert_eq!(param(&back, "state").as_deref(), Some("state-123"));
        let (status, body) = app.exchange(&client, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["id_token"].is_string(), "{body}");
        assert_eq!(app.count("sessions").await, 1, "one session: the sign-in's");
    }
);

db_test!(
    async fn an_idle_session_still_ends_though_views_slide_it_only_now_and_then(backend) {
        let app = spawn_app_with(backend, |s| s.session.idle_timeout_secs = 600).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        for i in 0..30 {
            // 1500 s of activity, one view every 50 s (under the 60 s step): kept alive.
            app.clock.advance(Duration::seconds(50));
            assert_eq!(browser.get("/profile").await.status(), 200, "view {i}");
        }
        app.clock.advance(Duration::seconds(601));
        let res = browser.get("/profile").await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/login?next=%2Fprofile".to_string()), "idle too long");
        assert_eq!(browser.get("/profile").await.status(), 303, "and it stays ended");
    }
);
