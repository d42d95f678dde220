//! The admin console: who may open which URL (the whole route list), the step-up, each
//! action's audit event (exactly once, none when refused), a client registered in the
//! console completing a code flow, and disabling a user ending their tokens and sessions.

use portcullis::audit::Actor;
use portcullis::http::admin::{ROUTES, paths};
use portcullis::identity::admin::AdminChanges;
use portcullis::identity::user::UserId;

use crate::helpers::oidc::{Consent, REDIRECT_URI, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::totp::code_at;
use crate::helpers::{Browser, PASSWORD, TestApp, between, csrf_in, db_test, location, spawn_app};

/// A signed-in administrator with TOTP turned on, who has not proven it in this session yet.
struct Admin {
    browser: Browser,
    secret: Vec<u8>,
    id: String,
}

async fn person(app: &TestApp, username: &str) -> Browser {
    let browser = app.browser();
    browser.sign_up(username, &format!("{username}@example.com"), PASSWORD).await;
    browser
}

async fn make_admin(app: &TestApp, username: &str) -> String {
    let id = app.user_id(username).await;
    let changes = AdminChanges { is_admin: Some(true), ..Default::default() };
    app.state.accounts.admin_update(&Actor::Cli, UserId::parse(&id).unwrap(), changes).await.unwrap();
    id
}

async fn admin(app: &TestApp) -> Admin {
    let browser = person(app, "root").await;
    let id = make_admin(app, "root").await;
    let secret = app.enrol(&browser, PASSWORD).await.secret;
    Admin { browser, secret, id }
}

impl Admin {
    /// Proves the second factor on the step-up page (a later TOTP step than any used before).
    async fn step_up(&self, app: &TestApp) {
        app.clock.advance(time::Duration::seconds(30));
        let page = self.browser.get(paths::STEP_UP).await;
        assert_eq!(page.status(), 200);
        let csrf = csrf_in(&page.text().await.unwrap()).unwrap();
        let code = code_at(&self.secret, app.now());
        let res = self
            .browser
            .post_form(paths::STEP_UP, &[("csrf_token", &csrf), ("code", &code), ("next", paths::DASHBOARD)])
            .await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, paths::DASHBOARD.to_string()), "the step-up passes");
    }

    /// A console form submitted with this session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.browser.submit(path, fields).await
    }
}

/// A form's fields.
type Fields = Vec<(&'static str, &'static str)>;

/// Events of `kind` in the log, by anyone but the test's own set-up (which acts as the CLI).
/// Events of `kind` an administrator caused (a person's own registration or sign-in is not
/// the console's doing).
async fn events(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!("audit_events WHERE kind = '{kind}' AND actor LIKE 'admin:%'")).await
}

async fn admin_events(app: &TestApp, admin_id: &str) -> i64 {
    app.count(&format!("audit_events WHERE actor = 'admin:{admin_id}'")).await
}

/// Every console route with its parameters filled in.
fn concrete_routes(user: &str, client: &str) -> Vec<(&'static str, String)> {
    ROUTES
        .iter()
        .map(|(method, path)| {
            let path = paths::fill(path, "id", user);
            let path = paths::fill(&path, "client_id", client);
            (*method, paths::fill(&path, "session", "no-such-session"))
        })
        .collect()
}

async fn call(browser: &Browser, method: &str, path: &str) -> reqwest::Response {
    match method {
        "GET" => browser.get(path).await,
        // With a valid CSRF token: the gate, not the token, must be what refuses.
        "POST" => browser.submit(path, &[("confirm", "yes"), ("display_name", "Mallory")]).await,
        other => panic!("no such method in ROUTES: {other}"),
    }
}

db_test!(
    async fn every_console_url_refuses_non_admins_admins_without_a_recent_second_factor_and_strangers(backend) {
        let app = spawn_app(backend).await;
        let root = admin(&app).await;
        let victim = person(&app, "victim").await;
        drop(victim);
        let victim_id = app.user_id("victim").await;
        let client = app.web_client("walk-rp").await;
        let routes = concrete_routes(&victim_id, &client.id);
        assert!(routes.len() >= 25, "the whole console is listed");
        let stranger = app.browser();
        let member = person(&app, "member").await;
        let before = app.snapshot().await;
        let events_before = app.count("audit_events").await;
        for (method, path) in &routes {
            let res = call(&stranger, method, path).await;
            let case = format!("{method} {path} without a sign-in");
            assert_eq!(res.status(), 303, "{case}");
            assert!(location(&res).starts_with("/login?next="), "{case}: {}", location(&res));

            let res = call(&member, method, path).await;
            let case = format!("{method} {path} as a non-admin");
            assert_eq!(res.status(), 403, "{case}");
            assert!(res.text().await.unwrap().contains("Administrators only"), "{case}");

            let res = call(&root.browser, method, path).await;
            let case = format!("{method} {path} as an admin without a recent second factor");
            assert_eq!(res.status(), 303, "{case}");
            assert!(location(&res).starts_with(paths::STEP_UP), "{case}: {}", location(&res));
        }
        let res = stranger.get("/admin/users").await;
        assert_eq!(location(&res), "/login?next=%2Fadmin%2Fusers", "the login page comes back to the console");
        assert_eq!(member.get("/admin/no-such-page").await.status(), 403, "unknown console URLs are refused too");
        assert_eq!(member.get(paths::STEP_UP).await.status(), 403, "the step-up page is for admins only");

        assert_eq!(app.snapshot().await, before, "no refused request changed an account");
        assert_eq!(app.count("oauth_clients WHERE id = 'walk-rp'").await, 1, "the client is still there");
        assert_eq!(app.count("audit_events").await, events_before, "and no event was written");

        // After the step-up every page opens; a quarter of an hour later the step-up is due again.
        root.step_up(&app).await;
        for (method, path) in routes.iter().filter(|(m, p)| *m == "GET" && !p.contains("no-such")) {
            assert_eq!(root.browser.get(path).await.status(), 200, "{method} {path} after the step-up");
        }
        app.clock.advance(time::Duration::minutes(16));
        let res = root.browser.get(paths::USERS).await;
        assert_eq!(location(&res), "/admin/step-up?next=%2Fadmin%2Fusers", "the step-up is good for 15 minutes");
    }
);

db_test!(
    async fn an_admin_without_a_second_factor_is_told_to_turn_one_on_and_a_wrong_code_opens_nothing(backend) {
        let app = spawn_app(backend).await;
        let browser = person(&app, "plain").await;
        make_admin(&app, "plain").await;
        let res = browser.get(paths::DASHBOARD).await;
        assert!(location(&res).starts_with(paths::STEP_UP));
        let page = browser.get(&location(&res)).await;
        assert_eq!(page.status(), 403);
        assert!(page.text().await.unwrap().contains("Turn on two-factor authentication on your profile"));

        let root = admin(&app).await;
        app.clock.advance(time::Duration::seconds(30));
        let right: u32 = code_at(&root.secret, app.now()).parse().unwrap();
        let wrong = format!("{:06}", (right + 500_000) % 1_000_000);
        let res = root.post(paths::STEP_UP, &[("code", &wrong)]).await;
        assert_eq!(res.status(), 401, "a wrong code is refused");
        assert_eq!(root.browser.get(paths::DASHBOARD).await.status(), 303, "and the console stays shut");
    }
);

db_test!(
    async fn signing_in_with_the_second_factor_opens_the_console_without_a_step_up(backend) {
        let app = spawn_app(backend).await;
        let root = admin(&app).await;
        root.browser.logout().await;
        app.clock.advance(time::Duration::seconds(30));
        let res = root.browser.login("root", PASSWORD).await;
        assert_eq!(location(&res), "/login/totp");
        let res = root.browser.submit("/login/totp", &[("code", &code_at(&root.secret, app.now()))]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(root.browser.get(paths::DASHBOARD).await.status(), 200, "the sign-in's second step counts");
    }
);

db_test!(
    async fn each_admin_action_writes_its_event_once_and_a_refused_one_writes_none(backend) {
        let app = spawn_app(backend).await;
        let root = admin(&app).await;
        root.step_up(&app).await;
        let member = person(&app, "member").await;

        // Refused: a form without its token, a form with a mistake, a non-admin.
        let res = root.browser.post_form(paths::USERS, &[("username", "ann"), ("email", "ann@example.com")]).await;
        assert_eq!(res.status(), 403, "no CSRF token");
        let res = root.post(paths::USERS, &[("username", "a"), ("email", "ann@example.com")]).await;
        assert_eq!(res.status(), 400, "a username too short");
        let res = member.submit(paths::USERS, &[("username", "ann"), ("email", "ann@example.com")]).await;
        assert_eq!(res.status(), 403, "not an admin");
        let res = root.post(paths::CLIENTS, &[("id", "bad"), ("redirect_uris", "javascript:alert(1)"), ("grant_authorization_code", "on")]).await;
        assert_eq!(res.status(), 400, "a dangerous redirect URI");
        assert_eq!(admin_events(&app, &root.id).await, 0, "refusals write no events");
        assert_eq!(app.count("users WHERE username = 'ann'").await, 0);

        let res = root.post(paths::USERS, &[("username", "ann"), ("email", "ann@example.com"), ("display_name", "Ann")]).await;
        assert_eq!(res.status(), 303, "created");
        let ann = app.user_id("ann").await;
        assert_eq!(location(&res), format!("/admin/users/{ann}?done=created"));
        let user = |suffix: &str| format!("/admin/users/{ann}{suffix}");
        let steps: Vec<(&str, String, Fields)> = vec![
            ("user.updated", user(""), vec![("display_name", "Ann Example"), ("email", "ann@example.com")]),
            ("email.verified", user("/verify-email"), vec![]),
            ("password.reset_requested", user("/send-reset"), vec![]),
            ("user.disabled", user("/disable"), vec![]),
            ("user.enabled", user("/enable"), vec![]),
        ];
        for (kind, path, fields) in &steps {
            let res = root.post(path, fields).await;
            assert_eq!(res.status(), 303, "{kind}: {}", res.text().await.unwrap_or_default());
            assert_eq!(events(&app, kind).await, 1, "{kind} once");
        }
        assert_eq!(events(&app, "user.created").await, 1, "user.created once (admin-created: no registration)");
        let saved = root.post(&user(""), &[("display_name", "Ann Example"), ("email", "ann@example.com")]).await;
        assert_eq!(saved.status(), 303);
        assert_eq!(events(&app, "user.updated").await, 1, "saving without a change records nothing");

        // The member's second factor and session, ended by the admin.
        let enrolled = app.enrol(&member, PASSWORD).await;
        drop(enrolled);
        let member_id = app.user_id("member").await;
        let res = root.post(&format!("/admin/users/{member_id}/reset-2fa"), &[]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(events(&app, "second_factor.reset").await, 1);
        assert!(!app.state.accounts.mfa_enabled(UserId::parse(&member_id).unwrap()).await.unwrap());
        let revoked = format!("audit_events WHERE kind = 'session.revoked' AND actor = 'admin:{}'", root.id);
        let sessions = root.browser.text(&format!("/admin/users/{member_id}/sessions")).await;
        let one = between(&sessions, &format!("action=\"/admin/users/{member_id}/sessions/"), "\"").expect("a session");
        let res = root.post(&format!("/admin/users/{member_id}/sessions/{one}"), &[]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(app.count(&revoked).await, 1, "one session, one event");
        assert_eq!(member.get("/profile").await.status(), 303, "the member's session is gone");
        assert_eq!(member.login("member", PASSWORD).await.status(), 303, "signed in again (no second factor now)");
        let res = root.post(&format!("/admin/users/{member_id}/revoke-sessions"), &[]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(app.count(&revoked).await, 2, "sign out everywhere: one event per session ended");
        assert_eq!(member.get("/profile").await.status(), 303, "the member's session is gone again");

        assert_eq!(root.post(paths::KEYS_ROTATE, &[]).await.status(), 303);
        let rotated = format!("audit_events WHERE kind = 'key.rotated' AND actor = 'admin:{}'", root.id);
        assert_eq!(app.count(&rotated).await, 1, "a rotation from the console names the admin");

        // Deleting takes the confirmation step; the admin's own account cannot be deleted.
        let res = root.post(&user("/delete"), &[]).await;
        assert_eq!(location(&res), user("/delete"), "no confirmation, no deletion");
        let own = root.post(&format!("/admin/users/{}/delete", root.id), &[("confirm", "yes")]).await;
        assert_eq!(own.status(), 409);
        let res = root.post(&user("/delete"), &[("confirm", "yes")]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(events(&app, "user.deleted").await, 1);
        assert_eq!(app.count("users WHERE username = 'ann'").await, 0);

        // Clients.
        let form = [("id", "shop"), ("name", "Shop"), ("redirect_uris", REDIRECT_URI), ("grant_authorization_code", "on")];
        assert_eq!(root.post(paths::CLIENTS, &form).await.status(), 200, "registered: the secret page");
        assert_eq!(root.post(paths::CLIENTS, &form).await.status(), 400, "the id is taken");
        let edit = [("name", "The Shop"), ("redirect_uris", REDIRECT_URI), ("grant_authorization_code", "on"), ("require_mfa", "on")];
        assert_eq!(root.post("/admin/clients/shop", &edit).await.status(), 303);
        let bad = [("name", "The Shop"), ("redirect_uris", "http://rp.example/cb"), ("grant_authorization_code", "on")];
        assert_eq!(root.post("/admin/clients/shop", &bad).await.status(), 400, "the CLI's redirect rules apply");
        assert_eq!(root.post("/admin/clients/shop/rotate-secret", &[]).await.status(), 200);
        assert_eq!(root.post("/admin/clients/shop/delete", &[("confirm", "yes")]).await.status(), 303);
        for kind in ["client.created", "client.changed", "client.secret_rotated", "client.deleted"] {
            assert_eq!(events(&app, kind).await, 1, "{kind} once");
        }
        let actors = app.count(&format!("audit_events WHERE kind LIKE 'client.%' AND actor = 'admin:{}' AND client_id = 'shop'", root.id)).await;
        assert_eq!(actors, 4, "every client event names the admin and the client");

        // The audit page lists them, newest first, and filters by type.
        let page = root.browser.text("/admin/audit?type=client.changed").await;
        let listed = |page: &str, kind: &str| page.contains(&format!("class=\"event-type\">{kind}<"));
        assert!(listed(&page, "client.changed") && !listed(&page, "client.deleted"), "filtered by type");
        let page = root.browser.text("/admin/audit?client=shop").await;
        let order: Vec<usize> = ["client.deleted", "client.secret_rotated", "client.changed", "client.created"]
            .iter()
            .map(|k| page.find(&format!("class=\"event-type\">{k}<")).unwrap_or_else(|| panic!("{k} listed")))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first: {order:?}");
        assert_eq!(root.browser.get("/admin/audit?from=yesterday").await.status(), 400, "a bad date is a field error");
    }
);

db_test!(
    async fn a_client_registered_in_the_console_completes_a_code_flow_and_disabling_its_user_ends_everything(backend) {
        let app = spawn_app(backend).await;
        let root = admin(&app).await;
        root.step_up(&app).await;
        let form = [
            ("id", "console-rp"),
            ("name", "Console RP"),
            ("redirect_uris", REDIRECT_URI),
            ("scopes", "openid profile email offline_access"),
            ("grant_authorization_code", "on"),
            ("grant_refresh_token", "on"),
            ("first_party", "on"),
        ];
        let res = root.post(paths::CLIENTS, &form).await;
        assert_eq!(res.status(), 200);
        let secret = between(&res.text().await.unwrap(), "id=\"client-secret\">", "<").expect("the secret, once");
        let client = TestClient { id: "console-rp".into(), secret: Some(secret) };

        let carol = person(&app, "carol").await;
        let (verifier, challenge) = pkce();
        let start = authorize_path(&client.id, &challenge, &[("scope", "openid profile offline_access")]);
        let back = drive(&carol, &start, ("carol", PASSWORD), Consent::Allow).await;
        let code = param(&back, "code").expect("a code for the console's client");
        let (status, tokens) = app.exchange(&client, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().expect("a refresh token").to_string();

        let carol_id = app.user_id("carol").await;
        let res = root.post(&format!("/admin/users/{carol_id}/disable"), &[]).await;
        assert_eq!(res.status(), 303);
        let (status, body) = app.refresh(&client, &refresh).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the refresh token is dead at once");
        let res = carol.get("/profile").await;
        assert!(location(&res).starts_with("/login"), "carol's browser session is gone");
        assert_eq!(app.count(&format!("sessions WHERE user_id = '{carol_id}'")).await, 0);
        let page = root.browser.text(&format!("/admin/users/{carol_id}")).await;
        assert!(page.contains("id=\"user-state\">disabled<"), "the console shows the account disabled");
    }
);

db_test!(
    async fn the_json_admin_api_records_the_acting_admin_and_refuses_to_delete_itself(backend) {
        let app = spawn_app(backend).await;
        person(&app, "boss").await;
        let boss = make_admin(&app, "boss").await;
        person(&app, "worker").await;
        let worker = app.user_id("worker").await;
        let res = reqwest::Client::new()
            .post(app.url("/login"))
            .json(&serde_json::json!({"username": "boss", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let token = res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();

        let body = serde_json::json!({"disabled": true});
        let (status, _) = crate::api::call(&app, reqwest::Method::PUT, &format!("/users/{worker}"), &token, Some(body)).await;
        assert_eq!(status, 200);
        let by_boss = format!("audit_events WHERE kind = 'user.disabled' AND actor = 'admin:{boss}' AND user_id = '{worker}'");
        assert_eq!(app.count(&by_boss).await, 1);

        let (status, _) = crate::api::call(&app, reqwest::Method::DELETE, &format!("/users/{boss}"), &token, None).await;
        assert_eq!(status, 409, "an admin cannot delete their own account");
        assert_eq!(events(&app, "user.deleted").await, 0);
    }
);

db_test!(
    async fn the_dashboard_counts_accounts_sessions_clients_and_the_last_days_sign_ins(backend) {
        use portcullis::audit::{Event, EventKind};
        let app = spawn_app(backend).await;
        let root = admin(&app).await;
        root.step_up(&app).await;
        app.web_client("one").await;
        app.web_client("two").await;
        let _member = person(&app, "member").await;
        let now_ms = app.now() * 1000;
        let day_ms = 86_400_000;
        for (kind, at_ms) in [
            (EventKind::SignInSucceeded, now_ms - 1_000),
            (EventKind::SignInSucceeded, now_ms - day_ms + 60_000),
            (EventKind::SignInSucceeded, now_ms - day_ms - 60_000),
            (EventKind::SignInFailed, now_ms - 5_000),
        ] {
            portcullis::store::audit::append(&app.state.db, at_ms, &Event::new(kind)).await.unwrap();
        }
        let before = app.count("audit_events WHERE kind LIKE 'sign_in.%'").await;
        let page = root.browser.text(paths::DASHBOARD).await;
        let stat = |id: &str| between(&page, &format!("id=\"{id}\">"), "<").unwrap_or_else(|| panic!("{id} shown"));
        assert_eq!(stat("stat-users"), "2", "root and member");
        assert_eq!(stat("stat-sessions"), "2", "one signed-in browser each");
        let clients = app.count("oauth_clients").await;
        assert!(clients >= 2, "one, two (and the built-in API client)");
        assert_eq!(stat("stat-clients"), clients.to_string());
        let sign_ins = app.count(&format!("audit_events WHERE kind = 'sign_in.succeeded' AND at_ms >= {}", now_ms - day_ms)).await;
        assert_eq!(stat("stat-sign-ins"), sign_ins.to_string(), "sign-ins of the last 24 hours only");
        assert!(sign_ins >= 2 && before >= 4);
        let failures = app.count(&format!("audit_events WHERE kind = 'sign_in.failed' AND at_ms >= {}", now_ms - day_ms)).await;
        assert_eq!(stat("stat-failures"), failures.to_string());
        assert!(stat("stat-outbox").parse::<i64>().is_ok());
    }
);
