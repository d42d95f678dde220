//! Bad input gets a 4xx with the form shown again and the error beside the field, and
//! changes nothing.

use crate::helpers::{PASSWORD, db_test, spawn_app};

/// A register form body with one field's raw (already percent-encoded) value replaced.
fn register_body(csrf: &str, field: &str, raw_value: &str) -> Vec<u8> {
    let mut fields = vec![
        ("username", "newbie".to_string()),
        ("email", "newbie%40example.com".to_string()),
        ("display_name", "New".to_string()),
        ("password", "a+perfectly+good+passphrase".to_string()),
    ];
    for f in fields.iter_mut() {
        if f.0 == field {
            f.1 = raw_value.to_string();
        }
    }
    let mut body = format!("csrf_token={csrf}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={v}"));
    }
    body.into_bytes()
}

db_test!(
    async fn malformed_registrations_are_refused_beside_the_field_and_write_nothing(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("taken", "taken@example.com", PASSWORD).await;
        let browser = app.browser();
        let csrf = browser.csrf().await;
        let before = app.snapshot().await;

        // (case, field, raw value, status, text beside the field)
        let cases = [
            ("invalid UTF-8", "username", "new%FFbie", 400, "not valid text"),
            ("NUL byte", "email", "newbie%00%40example.com", 400, "control characters"),
            ("CR/LF", "display_name", "New%0D%0ABcc%3A+x", 400, "control characters"),
            ("LF in password", "password", "a+perfectly%0Agood+passphrase", 400, "control characters"),
            ("taken username", "username", "TAKEN", 409, "This username is taken"),
            ("invalid e-mail", "email", "not-an-address", 400, "valid e-mail address"),
            ("e-mail without a real domain", "email", "x%40localhost", 400, "valid e-mail domain"),
            ("common password", "password", "iloveyou1", 400, "most common passwords"),
            ("short password", "password", "short", 400, "at least 8 characters"),
            ("too long password", "password", &"a".repeat(1025), 400, "at most 1024 bytes"),
            ("e-mail as password", "password", "newbie%40example.com", 400, "Do not use your username or e-mail"),
            ("bad username", "username", "no+spaces+here", 400, "Use only letters"),
        ];
        for (case, field, raw, status, text) in cases {
            let res = browser.post_raw("/register", "application/x-www-form-urlencoded", register_body(&csrf, field, raw)).await;
            assert_eq!(res.status(), status, "{case}");
            let html = res.text().await.unwrap();
            assert!(html.contains(text), "{case}: expected {text:?}");
            if status == 400 {
                assert!(html.contains(&format!("id=\"{field}-error\"")), "{case}: the error sits beside {field}");
            }
            assert!(html.contains("<form method=\"post\" action=\"/register\""), "{case}: the form is shown again");
            assert_eq!(app.snapshot().await, before, "{case}: nothing written");
        }
    }
);

db_test!(
    async fn oversized_and_non_form_bodies_get_clear_errors(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        let csrf = browser.csrf().await;
        let before = app.snapshot().await;

        let mut huge = register_body(&csrf, "display_name", "x");
        huge.extend(std::iter::repeat_n(b'x', 70 * 1024));
        let res = browser.post_raw("/register", "application/x-www-form-urlencoded", huge).await;
        assert_eq!(res.status(), 413, "over the 64 KiB form limit");
        assert!(res.text().await.unwrap().contains("more data than this server accepts"));

        let res = browser.post_raw("/register", "text/plain", b"username=x".to_vec()).await;
        assert_eq!(res.status(), 415, "not a form (JSON bodies go to the JSON API)");

        let res = browser
            .post_raw("/register", "application/x-www-form-urlencoded", format!("csrf_token={csrf}&username=a&username=b").into_bytes())
            .await;
        assert_eq!(res.status(), 400, "a repeated field");
        assert!(res.text().await.unwrap().contains("sent more than once"));
        assert_eq!(app.snapshot().await, before);
    }
);

db_test!(
    async fn control_characters_in_login_and_profile_forms_are_refused(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let csrf = browser.csrf().await;
        let before = app.snapshot().await;
        // The registration's own rate-limit windows are counters too; none may be added.
        let counters = app.scalar("SELECT COUNT(*) FROM login_throttle").await;
        let cases = [
            ("/login", format!("csrf_token={csrf}&username=alice%0D%0A&password=x")),
            ("/profile", format!("csrf_token={csrf}&display_name=A%00B")),
            ("/profile/password", format!("csrf_token={csrf}&current_password=x%0A&new_password=y&confirm_password=y")),
            ("/profile/email", format!("csrf_token={csrf}&email=a%0D%0A%40example.com&email_current_password=x")),
        ];
        for (path, body) in cases {
            let res = browser.post_raw(path, "application/x-www-form-urlencoded", body.into_bytes()).await;
            assert_eq!(res.status(), 400, "{path}");
            assert!(res.text().await.unwrap().contains("control characters"), "{path}");
        }
        assert_eq!(app.snapshot().await, before);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM login_throttle").await, counters, "refused input is no login attempt");
    }
);
