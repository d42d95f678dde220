//! The audit events of the people-facing flows: each action records its event exactly once,
//! with the right subject, actor and detail, and a refused or rolled-back action records none
//! of its success event. Events carry the request they came in (client IP after the
//! trusted-proxy rule, user agent, request id).

use portcullis::audit::{EventKind, Filter, MAX_PAGE, Recorded};
use portcullis::identity::email::Email;
use portcullis::identity::password::Password;
use portcullis::identity::surface::Surface;
use portcullis::identity::user::{DisplayName, NewUser, Username};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::portcullis;
use crate::helpers::oidc::POST_LOGOUT_URI;
use crate::helpers::totp::code_at;
use crate::helpers::{PASSWORD, TestApp, db_test, location, spawn_app, spawn_app_with, spawn_app_with_smtp};

/// Every recorded event of `kind`, oldest first.
async fn events(app: &TestApp, kind: EventKind) -> Vec<Recorded> {
    let filter = Filter { kinds: vec![kind], limit: MAX_PAGE, ..Filter::default() };
    let mut found = portcullis::store::audit::list(&app.state.db, &filter).await.expect("reading the audit log");
    found.reverse();
    found
}

/// How many events of `kind` there are.
async fn count(app: &TestApp, kind: EventKind) -> usize {
    events(app, kind).await.len()
}

/// The newest event of `kind`, after asserting there are `n` of them.
async fn nth(app: &TestApp, kind: EventKind, n: usize) -> Recorded {
    let mut found = events(app, kind).await;
    assert_eq!(found.len(), n, "{} events: {found:#?}", kind.as_str());
    found.pop().expect("one event")
}

/// `user:<id>` of a username, as events name their actor.
async fn as_actor(app: &TestApp, username: &str) -> Option<String> {
    Some(format!("user:{}", app.user_id(username).await))
}

async fn post_json(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new().post(app.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn wait_for_events(app: &TestApp, kind: EventKind, n: usize) -> Vec<Recorded> {
    for _ in 0..300 {
        let found = events(app, kind).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {n} {} events arrived", kind.as_str());
}

db_test!(
    async fn each_new_account_records_user_created_once_and_a_taken_address_or_username_none(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        assert_eq!(browser.register("alice", "alice@example.com", PASSWORD).await.status(), 200);
        let created = nth(&app, EventKind::UserCreated, 1).await;
        assert_eq!(created.user_id, Some(app.user_id("alice").await));
        assert_eq!(created.actor, as_actor(&app, "alice").await, "a self-registration is the person's own act");
        assert_eq!(created.detail["surface"], "pages");

        assert_eq!(browser.register("alice2", "Alice@Example.com", PASSWORD).await.status(), 200, "taken address");
        let taken_name = json!({"username": "alice", "email": "other@example.com", "password": PASSWORD});
        assert_eq!(post_json(&app, "/register", taken_name).await.0, StatusCode::CONFLICT);
        let forged = [("csrf_token", "forged"), ("username", "mallory"), ("email", "m@example.com"), ("password", PASSWORD)];
        assert_eq!(browser.post_form("/register", &forged).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, EventKind::UserCreated).await, 1, "nothing created, nothing recorded");

        let bob = json!({"username": "bob", "email": "bob@example.com", "password": PASSWORD});
        assert_eq!(post_json(&app, "/register", bob).await.0, StatusCode::CREATED);
        let created = nth(&app, EventKind::UserCreated, 2).await;
        assert_eq!((created.actor, created.detail["surface"].clone()), (as_actor(&app, "bob").await, json!("api")));

        let args = ["user", "add", "--username", "carol", "--email", "carol@example.com", "--verified"];
        let out = portcullis(&app, &args, &format!("{PASSWORD}\n"));
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        // Found by its user, not by position: the command line is another process with its own
        // clock (this app's is frozen), so the two sort by their clocks, not by when they ran.
        let carol = Some(app.user_id("carol").await);
        let all = events(&app, EventKind::UserCreated).await;
        assert_eq!(all.len(), 3, "{all:#?}");
        let created = all.into_iter().find(|e| e.user_id == carol).expect("carol's event");
        assert_eq!((created.actor.as_deref(), &created.detail["surface"]), (Some("cli"), &json!("cli")));
        assert_eq!((created.ip, created.user_agent), (None, None), "no request behind the command line");
    }
);

db_test!(
    async fn events_carry_the_client_behind_a_trusted_proxy_and_a_reset_request_the_requesters(backend) {
        let app = spawn_app_with_smtp(backend, |s| s.http.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
        let client = reqwest::Client::builder().user_agent("AuditProbe/1.0").build().unwrap();
        let via_proxy = |path: &str, client_ip: &str, body: Value| {
            // The leftmost hop is whatever the client claimed; the proxy appended the real one.
            client.post(app.url(path)).header("x-forwarded-for", format!("6.6.6.6, {client_ip}")).json(&body).send()
        };
        let alice = json!({"username": "alice", "email": "alice@example.com", "password": PASSWORD});
        assert_eq!(via_proxy("/register", "203.0.113.7", alice).await.unwrap().status(), StatusCode::CREATED);
        let created = nth(&app, EventKind::UserCreated, 1).await;
        assert_eq!(created.ip.as_deref(), Some("203.0.113.7"), "the nearest untrusted hop, not the spoofed one");
        assert_eq!(created.user_agent.as_deref(), Some("AuditProbe/1.0"));
        assert!(created.request_id.as_deref().is_some_and(|id| !id.is_empty()));
        app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;

        for (address, from) in [("alice@example.com", "203.0.113.8"), ("nobody@example.com", "203.0.113.9")] {
            let res = via_proxy("/reset-password", from, json!({ "email": address })).await.unwrap();
            assert_eq!(res.status(), StatusCode::ACCEPTED, "the same answer for {address}");
        }
        let requested = wait_for_events(&app, EventKind::PasswordResetRequested, 2).await;
        let known = requested.iter().find(|e| e.user_id.is_some()).expect("the known address's event");
        assert_eq!(known.user_id, Some(app.user_id("alice").await));
        assert_eq!((known.actor.as_deref(), &known.detail["outcome"]), (None, &json!("link_sent")), "anonymous");
        assert_eq!(known.ip.as_deref(), Some("203.0.113.8"), "the requester's address, kept with the job");
        assert_eq!(known.user_agent.as_deref(), Some("AuditProbe/1.0"));
        let unknown = requested.iter().find(|e| e.user_id.is_none()).expect("the unknown address's event");
        assert_eq!((unknown.ip.as_deref(), &unknown.detail["outcome"]), (Some("203.0.113.9"), &json!("no_account")));
        assert!(!unknown.detail.to_string().contains("nobody"), "the unknown address itself is not kept");

        let mail = app.smtp().wait_for("alice@example.com", "Reset your password").await;
        let token = mail.link(&app.link_to("/reset-password/confirm?token=")).split("token=").nth(1).unwrap().to_string();
        let reset = json!({"token": token, "new_password": "a brand new passphrase"});
        assert_eq!(post_json(&app, "/reset-password/confirm", reset.clone()).await.0, StatusCode::NO_CONTENT);
        let done = nth(&app, EventKind::PasswordReset, 1).await;
        assert_eq!((done.user_id, done.actor), (Some(app.user_id("alice").await), as_actor(&app, "alice").await));
        assert_eq!(post_json(&app, "/reset-password/confirm", reset).await.0, StatusCode::BAD_REQUEST, "used link");
        assert_eq!(count(&app, EventKind::PasswordReset).await, 1);
        assert_eq!(count(&app, EventKind::PasswordChanged).await, 0, "a reset is not a change");
    }
);

db_test!(
    async fn password_and_address_changes_record_once_and_a_taken_address_rolls_its_event_back(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let alice = as_actor(&app, "alice").await;

        let change = |current: &'static str| {
            [("current_password", current), ("new_password", "a brand new passphrase"), ("confirm_password", "a brand new passphrase")]
        };
        assert_eq!(browser.submit("/profile/password", &change("not my password")).await.status(), 400);
        let forged: Vec<_> = [("csrf_token", "forged")].into_iter().chain(change(PASSWORD)).collect();
        assert_eq!(browser.post_form("/profile/password", &forged).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, EventKind::PasswordChanged).await, 0, "refused changes record nothing");
        assert_eq!(location(&browser.submit("/profile/password", &change(PASSWORD)).await), "/profile?done=password");
        let changed = nth(&app, EventKind::PasswordChanged, 1).await;
        assert_eq!((changed.actor, changed.user_id.map(|id| format!("user:{id}"))), (alice.clone(), alice.clone()));
        let password = "a brand new passphrase";

        let mail = app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;
        let verify = app.local(&mail.link(&app.link_to("/verify-email?token=")));
        assert_eq!(browser.get(&verify).await.status(), 200);
        assert_eq!(browser.get(&verify).await.status(), 400, "used link");
        assert_eq!(nth(&app, EventKind::EmailVerified, 1).await.actor, alice);

        let move_to = |address: &'static str| [("email", address), ("email_current_password", password)];
        assert_eq!(location(&browser.submit("/profile/email", &move_to("alice@new.example")).await), "/profile?done=email");
        let mail = app.smtp().wait_for("alice@new.example", "Confirm your e-mail address").await;
        assert_eq!(count(&app, EventKind::EmailChanged).await, 0, "nothing changes until the link is followed");
        assert_eq!(browser.get(&app.local(&mail.link(&app.link_to("/verify-email?token=")))).await.status(), 200);
        let moved = nth(&app, EventKind::EmailChanged, 1).await;
        assert_eq!(moved.actor, alice);
        assert_eq!(count(&app, EventKind::EmailVerified).await, 1, "a change is its own event");

        // The address is free when the link goes out and taken when it is followed: the move
        // fails on the unique index, and its transaction (the event with it) rolls back.
        assert_eq!(location(&browser.submit("/profile/email", &move_to("shared@example.com")).await), "/profile?done=email");
        let mail = app.smtp().wait_for("shared@example.com", "Confirm your e-mail address").await;
        app.browser().register("bob", "shared@example.com", PASSWORD).await;
        let link = app.local(&mail.link(&app.link_to("/verify-email?token=")));
        assert_eq!(browser.get(&link).await.status(), StatusCode::CONFLICT);
        assert_eq!(count(&app, EventKind::EmailChanged).await, 1, "the refused move recorded nothing");
        let unused = app.count("email_tokens WHERE purpose = 'change_email' AND used_at IS NULL").await;
        assert_eq!(unused, 1, "the link itself was not used up either: the whole transaction rolled back");
    }
);

db_test!(
    async fn two_factor_changes_and_every_code_checked_record_their_events(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let alice = as_actor(&app, "alice").await;
        assert_eq!(browser.submit("/profile/2fa/setup", &[("mfa_current_password", PASSWORD)]).await.status(), 200);
        assert_eq!(browser.submit("/profile/2fa/confirm", &[("code", "000000")]).await.status(), 400);
        assert_eq!(count(&app, EventKind::TotpEnabled).await, 0, "a wrong confirmation code turns nothing on");
        let enrolled = app.enrol(&browser, PASSWORD).await;
        assert_eq!(nth(&app, EventKind::TotpEnabled, 1).await.actor, alice);
        let step = async || {
            app.clock.advance(time::Duration::seconds(30));
            code_at(&enrolled.secret, app.now())
        };

        let signing_in = app.browser();
        assert_eq!(location(&signing_in.login("alice", PASSWORD).await), "/login/totp");
        assert_eq!(signing_in.submit("/login/totp", &[("code", "000000")]).await.status(), 401);
        let failed = nth(&app, EventKind::SecondFactorFailed, 1).await;
        assert_eq!(failed.user_id.map(|id| format!("user:{id}")), alice, "about alice's account");
        assert_eq!(failed.actor, None, "by nobody signed in yet");
        assert_eq!(failed.detail, json!({"method": "totp", "context": "sign_in", "reason": "invalid_code"}));
        assert_eq!(count(&app, EventKind::SecondFactorSucceeded).await, 0);
        assert_eq!(signing_in.submit("/login/totp", &[("code", &step().await)]).await.status(), 303);
        let passed = nth(&app, EventKind::SecondFactorSucceeded, 1).await;
        assert_eq!(passed.detail, json!({"method": "totp", "context": "sign_in"}));

        let with_recovery = app.browser();
        with_recovery.login("alice", PASSWORD).await;
        assert_eq!(with_recovery.submit("/login/totp", &[("code", &enrolled.recovery_codes[0])]).await.status(), 200);
        assert_eq!(nth(&app, EventKind::SecondFactorSucceeded, 2).await.detail["method"], "recovery_code");
        let used = nth(&app, EventKind::RecoveryCodeUsed, 1).await;
        assert_eq!((used.actor, used.detail), (alice.clone(), json!({"remaining": 9})));
        let again = app.browser();
        again.login("alice", PASSWORD).await;
        assert_eq!(again.submit("/login/totp", &[("code", &enrolled.recovery_codes[0])]).await.status(), 401);
        assert_eq!(count(&app, EventKind::RecoveryCodeUsed).await, 1, "a used code is used once");
        assert_eq!(nth(&app, EventKind::SecondFactorFailed, 2).await.detail["method"], "recovery_code");

        let profile = &browser;
        let codes = |password: &'static str, code: String| async move {
            profile.submit("/profile/2fa/recovery-codes", &[("codes_current_password", password), ("codes_code", &code)]).await
        };
        assert_eq!(codes("not my password", step().await).await.status(), 400);
        assert_eq!(count(&app, EventKind::RecoveryCodesRegenerated).await, 0);
        assert_eq!(codes(PASSWORD, step().await).await.status(), 200);
        let regenerated = nth(&app, EventKind::RecoveryCodesRegenerated, 1).await;
        assert_eq!((regenerated.actor, regenerated.detail), (alice.clone(), json!({"count": 10})));
        assert_eq!(nth(&app, EventKind::SecondFactorSucceeded, 3).await.detail["context"], "step_up");

        let disable = |code: String| async move {
            profile.submit("/profile/2fa/disable", &[("disable_current_password", PASSWORD), ("disable_code", &code)]).await
        };
        assert_eq!(disable("000000".into()).await.status(), 400);
        assert_eq!(count(&app, EventKind::TotpDisabled).await, 0, "a wrong code turns nothing off");
        let failed = nth(&app, EventKind::SecondFactorFailed, 3).await;
        assert_eq!((failed.actor, &failed.detail["context"]), (alice.clone(), &json!("step_up")), "by alice, signed in");
        assert_eq!(location(&disable(step().await).await), "/profile?done=2fa-off");
        assert_eq!(nth(&app, EventKind::TotpDisabled, 1).await.actor, alice);
        assert_eq!(count(&app, EventKind::SecondFactorSucceeded).await, 4);
    }
);

db_test!(
    async fn signing_out_records_once_per_ended_session_on_every_surface(backend) {
        let app = spawn_app(backend).await;
        app.web_client("rp").await;
        let browser = app.browser();
        browser.sign_up("alice", "alice@example.com", PASSWORD).await;
        let alice = as_actor(&app, "alice").await;
        assert_eq!(browser.post_form("/logout", &[("csrf_token", "forged")]).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, EventKind::SignedOut).await, 0, "a forged logout ends nothing");
        assert_eq!(location(&browser.logout().await), "/");
        let out = nth(&app, EventKind::SignedOut, 1).await;
        assert_eq!(out.actor, alice);
        assert_eq!(out.detail, json!({"surface": "pages", "browser_session": true, "grants_revoked": 0}));
        browser.logout().await;
        assert_eq!(count(&app, EventKind::SignedOut).await, 1, "nobody was signed in the second time");

        let (status, tokens) = post_json(&app, "/login", json!({"username": "alice", "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::OK);
        let logout = json!({"refresh_token": tokens["refresh_token"]});
        assert_eq!(post_json(&app, "/logout", logout.clone()).await.0, StatusCode::NO_CONTENT);
        let out = nth(&app, EventKind::SignedOut, 2).await;
        assert_eq!((out.actor, out.detail["surface"].clone(), out.detail["grants_revoked"].clone()), (alice.clone(), json!("api"), json!(1)));
        assert_eq!(post_json(&app, "/logout", logout).await.0, StatusCode::NO_CONTENT);
        assert_eq!(count(&app, EventKind::SignedOut).await, 2, "a grant already ended ends nothing more");

        browser.login("alice", PASSWORD).await;
        let ask = format!("/end-session?client_id=rp&post_logout_redirect_uri={}", urlencode(POST_LOGOUT_URI));
        assert!(browser.text(&ask).await.contains("Sign out?"));
        assert_eq!(count(&app, EventKind::SignedOut).await, 2, "asking is not signing out");
        let res = browser.submit("/end-session/confirm", &[("client_id", "rp"), ("post_logout_redirect_uri", POST_LOGOUT_URI)]).await;
        assert!(location(&res).starts_with(POST_LOGOUT_URI));
        let out = nth(&app, EventKind::SignedOut, 3).await;
        assert_eq!((out.actor, out.client_id.as_deref(), &out.detail["surface"]), (alice, Some("rp"), &json!("oauth")));
    }
);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An account whose address is confirmed already (as `user add --verified` makes it).
async fn verified_user(app: &TestApp, username: &str) {
    let new = NewUser {
        username: Username::parse(username).unwrap(),
        email: Email::parse(&format!("{username}@example.com")).unwrap(),
        display_name: DisplayName::parse("").unwrap(),
        is_admin: false,
        email_verified: true,
    };
    let password = Password::new_for(PASSWORD, app.state.accounts.password_policy(), &[]).unwrap();
    app.state.accounts.register(new, password, Surface::Cli).await.unwrap();
}

db_test!(
    async fn a_sign_in_records_success_after_every_factor_and_failure_only_by_reason_class(backend) {
        let app = spawn_app_with(backend, |s| {
            s.login.free_failures = 1;
            s.account.require_verified_email = true;
        })
        .await;
        for name in ["alice", "dora", "erin"] {
            verified_user(&app, name).await;
        }
        let alice = as_actor(&app, "alice").await;
        assert_eq!(location(&app.browser().login("alice", PASSWORD).await), "/profile");
        let signed_in = nth(&app, EventKind::SignInSucceeded, 1).await;
        assert_eq!((signed_in.actor, signed_in.user_id.map(|id| format!("user:{id}"))), (alice.clone(), alice.clone()));
        assert_eq!(signed_in.detail, json!({"method": "password", "surface": "pages"}));
        let (status, _) = post_json(&app, "/login", json!({"username": "alice", "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(nth(&app, EventKind::SignInSucceeded, 2).await.detail["surface"], "api");

        assert_eq!(app.browser().login("alice", "hunter2 is my password").await.status(), 401);
        assert_eq!(app.browser().login("ghost", "hunter2 is my password").await.status(), 401);
        let failed = events(&app, EventKind::SignInFailed).await;
        assert_eq!(failed.len(), 2, "{failed:#?}");
        for event in &failed {
            assert_eq!((event.actor.as_deref(), &event.detail), (None, &json!({"reason": "bad_credentials", "surface": "pages"})));
            let stored = format!("{event:?}");
            assert!(!stored.contains("hunter2") && !stored.contains("ghost"), "neither the password nor the name: {stored}");
        }
        assert_eq!(failed[0].user_id, Some(app.user_id("alice").await), "a wrong password is about alice's account");
        assert_eq!(failed[1].user_id, None, "an unknown name is about no account");

        assert_eq!(app.browser().login("alice", PASSWORD).await.status(), 429, "one free failure: alice is locked");
        let locked = nth(&app, EventKind::SignInFailed, 3).await;
        assert_eq!((&locked.detail["reason"], locked.user_id), (&json!("locked"), Some(app.user_id("alice").await)));

        let dora = portcullis::identity::user::UserId::parse(&app.user_id("dora").await).unwrap();
        let off = portcullis::identity::admin::AdminChanges { disabled: Some(true), ..Default::default() };
        app.state.accounts.admin_update(&portcullis::audit::Actor::Cli, dora, off).await.unwrap();
        assert_eq!(app.browser().login("dora", PASSWORD).await.status(), 401, "the same answer as a wrong password");
        assert_eq!(nth(&app, EventKind::SignInFailed, 4).await.detail["reason"], "disabled");

        assert_eq!(app.browser().register("bob", "bob@example.com", PASSWORD).await.status(), 200);
        assert_eq!(app.browser().login("bob", PASSWORD).await.status(), 403, "the address is not confirmed yet");
        assert_eq!(nth(&app, EventKind::SignInFailed, 5).await.detail["reason"], "email_unverified");
        assert_eq!(count(&app, EventKind::SignInSucceeded).await, 2, "no refused attempt counts as a sign-in");

        let browser = app.browser();
        browser.login("erin", PASSWORD).await;
        let enrolled = app.enrol(&browser, PASSWORD).await;
        let two_step = app.browser();
        assert_eq!(location(&two_step.login("erin", PASSWORD).await), "/login/totp");
        assert_eq!(count(&app, EventKind::SignInSucceeded).await, 3, "erin's first sign-in; the password step alone is none");
        assert_eq!(two_step.submit("/login/totp", &[("code", "000000")]).await.status(), 401);
        let failed = nth(&app, EventKind::SignInFailed, 6).await;
        assert_eq!((&failed.detail["reason"], failed.user_id), (&json!("second_factor"), Some(app.user_id("erin").await)));
        app.clock.advance(time::Duration::seconds(30));
        assert_eq!(two_step.submit("/login/totp", &[("code", &code_at(&enrolled.secret, app.now()))]).await.status(), 303);
        assert_eq!(nth(&app, EventKind::SignInSucceeded, 4).await.detail, json!({"method": "password+totp", "surface": "pages"}));

        let (_, step) = post_json(&app, "/login", json!({"username": "erin", "password": PASSWORD})).await;
        let mfa = json!({"mfa_token": step["mfa_token"], "code": enrolled.recovery_codes[0]});
        assert_eq!(post_json(&app, "/login/mfa", mfa.clone()).await.0, StatusCode::OK);
        let signed_in = nth(&app, EventKind::SignInSucceeded, 5).await;
        assert_eq!(signed_in.detail, json!({"method": "password+recovery_code", "surface": "api"}));
        assert_eq!(post_json(&app, "/login/mfa", mfa).await.0, StatusCode::UNAUTHORIZED, "the step is used up");
        assert_eq!(count(&app, EventKind::SignInSucceeded).await, 5);
    }
);
