//! The OAuth and key events of the audit log: each written exactly once by the action that
//! causes it, in that action's transaction, and never by a failing variant of it. Refreshes and
//! client-credentials tokens are counted and written by housekeeping (see `oauth::issuance`).

use portcullis::audit::{EventKind, Filter, Recorded};
use portcullis::clock::Clock;
use serde_json::Value;

use crate::cli::portcullis;
use crate::helpers::oidc::{ClientSpec, Consent, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::{Backend, Browser, PASSWORD, TestApp, db_test, spawn_app};

/// The events of `kind` (about `client`, when given), oldest first.
async fn events(app: &TestApp, kind: EventKind, client: Option<&str>) -> Vec<Recorded> {
    let filter = Filter { kinds: vec![kind], client: client.map(str::to_string), limit: 500, ..Filter::default() };
    let mut events = portcullis::store::audit::list(&app.state.db, &filter).await.unwrap();
    events.reverse();
    events
}

async fn alice(app: &TestApp) -> (Browser, String) {
    let browser = app.browser();
    browser.sign_up("alice", "alice@example.com", PASSWORD).await;
    (browser, app.user_id("alice").await)
}

/// A code for `client` through the browser (consent allowed), with its verifier.
async fn code_for(browser: &Browser, client: &TestClient, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let back = drive(
        browser,
        &authorize_path(&client.id, &challenge, &[("scope", scope)]),
        ("alice", PASSWORD),
        Consent::Allow,
    )
    .await;
    (param(&back, "code").expect("a code"), verifier)
}

async fn tokens_for(app: &TestApp, browser: &Browser, client: &TestClient) -> Value {
    let (code, verifier) = code_for(browser, client, "openid offline_access").await;
    let (status, tokens) = app.exchange(client, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_else(|| panic!("no {field} in {body}")).to_string()
}

/// Makes the database refuse to record events of `kinds` (the statement fails, and with it
/// the transaction it is part of), or lets it record them again.
async fn refuse_events(app: &TestApp, backend: Backend, kinds: &[&str], refuse: bool) {
    let list = kinds.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ");
    let sql: Vec<String> = match (backend, refuse) {
        (Backend::Sqlite, true) => vec![format!(
            "CREATE TRIGGER test_refuse_events BEFORE INSERT ON audit_events WHEN NEW.kind IN ({list}) \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )],
        (Backend::Postgres, true) => vec![
            format!(
                "CREATE FUNCTION test_refuse_events() RETURNS trigger AS $$ BEGIN \
                 IF NEW.kind IN ({list}) THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER test_refuse_events BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_refuse_events()".into(),
        ],
        (Backend::Sqlite, false) => vec!["DROP TRIGGER test_refuse_events".into()],
        (Backend::Postgres, false) => vec![
            "DROP TRIGGER test_refuse_events ON audit_events".into(),
            "DROP FUNCTION test_refuse_events()".into(),
        ],
    };
    for statement in sql {
        portcullis::store::inspect::execute_sql(&app.state.db, &statement, vec![]).await.expect(&statement);
    }
}

db_test!(
    async fn approving_consent_records_consent_granted_once_and_denying_or_remembered_consent_records_nothing(backend) {
        let app = spawn_app(backend).await;
        let (browser, alice_id) = alice(&app).await;
        let shop = app.web_client("shop").await;
        let own = app.client("own", ClientSpec { first_party: true, ..Default::default() }).await;
        let (_, challenge) = pkce();

        let denied = drive(&browser, &authorize_path(&shop.id, &challenge, &[]), ("alice", PASSWORD), Consent::Deny).await;
        assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
        assert_eq!(events(&app, EventKind::ConsentGranted, None).await, vec![], "a denial grants nothing");

        code_for(&browser, &shop, "openid profile").await;
        let granted = events(&app, EventKind::ConsentGranted, None).await;
        assert_eq!(granted.len(), 1, "{granted:?}");
        let e = &granted[0];
        assert_eq!((e.actor.as_deref(), e.user_id.as_deref(), e.client_id.as_deref()), (Some(format!("user:{alice_id}").as_str()), Some(alice_id.as_str()), Some("shop")));
        assert_eq!((e.detail["scope"].as_str(), e.detail["remembered_scope"].as_str()), (Some("openid profile"), Some("openid profile")));
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"), "the request it happened in");
        assert!(e.request_id.is_some());

        code_for(&browser, &shop, "openid").await;
        code_for(&browser, &own, "openid profile").await;
        assert_eq!(events(&app, EventKind::ConsentGranted, None).await.len(), 1, "remembered consent and a first-party client ask nothing");
        code_for(&browser, &shop, "openid email").await;
        let widened = events(&app, EventKind::ConsentGranted, None).await;
        assert_eq!(widened.len(), 2, "a wider request is a new consent");
        assert_eq!(widened[1].detail["remembered_scope"], "email openid profile", "added to what was approved before");
    }
);

db_test!(
    async fn each_code_exchange_records_token_issued_once_and_a_failed_exchange_records_nothing(backend) {
        let app = spawn_app(backend).await;
        let (browser, alice_id) = alice(&app).await;
        let rp = app.web_client("rp").await;
        let other = app.web_client("other").await;
        let (code, verifier) = code_for(&browser, &rp, "openid offline_access").await;

        let (wrong_verifier, _) = pkce();
        assert_eq!(app.exchange(&rp, &code, &wrong_verifier).await.0, 400, "bad code_verifier");
        assert_eq!(app.exchange(&other, &code, &verifier).await.0, 400, "another client");
        let res = app
            .token_request("/token", &rp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://rp.example/other"), ("code_verifier", &verifier)])
            .await;
        assert_eq!(res.status(), 400, "another redirect_uri");
        assert_eq!(app.exchange(&rp, "no-such-code", &verifier).await.0, 400, "an unknown code");
        assert_eq!(events(&app, EventKind::TokenIssued, None).await, vec![], "no failed exchange is recorded");

        let (status, tokens) = app.exchange(&rp, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        let issued = events(&app, EventKind::TokenIssued, None).await;
        assert_eq!(issued.len(), 1, "{issued:?}");
        let e = &issued[0];
        assert_eq!((e.actor.as_deref(), e.user_id.as_deref(), e.client_id.as_deref()), (Some("client:rp"), Some(alice_id.as_str()), Some("rp")));
        assert_eq!((e.detail["grant_type"].as_str(), e.detail["scope"].as_str(), e.detail["refresh_token"].as_bool()), (Some("authorization_code"), Some("offline_access openid"), Some(true)));
        assert!(!e.detail.to_string().contains(&code) && !e.detail.to_string().contains(&text(&tokens, "access_token")), "no secret in the detail");

        let (code2, verifier2) = code_for(&browser, &rp, "openid").await;
        assert_eq!(app.exchange(&rp, &code2, &verifier2).await.0, 200);
        assert_eq!(events(&app, EventKind::TokenIssued, Some("rp")).await.len(), 2, "every exchange, one event each");
        assert_eq!(events(&app, EventKind::CodeReplay, None).await, vec![], "none of this was a replay");
    }
);

db_test!(
    async fn a_replayed_code_is_recorded_every_time_in_the_transaction_that_revokes_its_grant(backend) {
        let app = spawn_app(backend).await;
        let (browser, alice_id) = alice(&app).await;
        let rp = app.web_client("rp").await;
        let (code, verifier) = code_for(&browser, &rp, "openid offline_access").await;
        let (_, tokens) = app.exchange(&rp, &code, &verifier).await;
        let access = text(&tokens, "access_token");
        let (other_verifier, _) = pkce();
        assert_eq!(app.exchange(&rp, &code, &other_verifier).await.0, 400, "a used code with a wrong verifier");
        assert_eq!(app.exchange(&app.web_client("other").await, &code, &verifier).await.0, 400, "by another client");
        assert_eq!(events(&app, EventKind::CodeReplay, None).await, vec![], "neither proves a replay; the grant lives");
        assert_eq!(app.userinfo_status(&access).await, 200);

        refuse_events(&app, backend, &["authorization_code.replayed"], true).await;
        let (status, body) = app.exchange(&rp, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "the event could not be written");
        assert_eq!(app.userinfo_status(&access).await, 200, "so the revocation rolled back with it");
        refuse_events(&app, backend, &["authorization_code.replayed"], false).await;

        assert_eq!(app.exchange(&rp, &code, &verifier).await.0, 400);
        assert_eq!(app.userinfo_status(&access).await, 401, "the replay revoked the grant");
        assert_eq!(app.exchange(&rp, &code, &verifier).await.0, 400);
        let replays = events(&app, EventKind::CodeReplay, None).await;
        assert_eq!(replays.len(), 2, "every replay, each once: {replays:?}");
        assert_eq!((replays[0].actor.as_deref(), replays[0].user_id.as_deref(), replays[0].client_id.as_deref()), (Some("system"), Some(alice_id.as_str()), Some("rp")));
        assert_eq!((replays[0].detail["grant_revoked"].as_bool(), replays[1].detail["grant_revoked"].as_bool()), (Some(true), Some(false)));
        assert_eq!(events(&app, EventKind::TokenIssued, None).await.len(), 1, "only the one exchange issued tokens");
    }
);

db_test!(
    async fn refresh_reuse_is_recorded_every_time_in_the_transaction_that_revokes_the_grant(backend) {
        let app = spawn_app(backend).await;
        let (browser, alice_id) = alice(&app).await;
        let rp = app.web_client("rp").await;
        let first = text(&tokens_for(&app, &browser, &rp).await, "refresh_token");
        let (status, second) = app.refresh(&rp, &first).await;
        assert_eq!(status, 200, "{second}");
        let second = text(&second, "refresh_token");
        let other = app.web_client("other").await;
        assert_eq!(app.refresh(&other, &first).await.0, 400, "a rotated token shown by another client is no reuse of it");
        assert_eq!(events(&app, EventKind::RefreshTokenReuse, None).await, vec![]);

        refuse_events(&app, backend, &["refresh_token.reuse_detected"], true).await;
        let (status, body) = app.refresh(&rp, &first).await;
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "the event could not be written");
        refuse_events(&app, backend, &["refresh_token.reuse_detected"], false).await;
        let (status, third) = app.refresh(&rp, &second).await;
        assert_eq!(status, 200, "the revocation rolled back with the event: the successor still works ({third})");
        let third = text(&third, "refresh_token");

        assert_eq!(app.refresh(&rp, &first).await.0, 400);
        assert_eq!(app.refresh(&rp, &third).await.0, 400, "the reuse revoked the grant");
        let reuses = events(&app, EventKind::RefreshTokenReuse, None).await;
        assert_eq!(reuses.len(), 1, "{reuses:?}");
        let e = &reuses[0];
        assert_eq!((e.actor.as_deref(), e.user_id.as_deref(), e.client_id.as_deref()), (Some("system"), Some(alice_id.as_str()), Some("rp")));
        assert_eq!(e.detail["grant_revoked"], true);
        assert!(e.detail["since_rotation_ms"].is_i64());
    }
);

db_test!(
    async fn refreshes_and_client_credentials_are_counted_per_client_and_written_by_housekeeping(backend) {
        let app = spawn_app(backend).await;
        let (browser, _) = alice(&app).await;
        let web = app.web_client("web").await;
        let svc = app.client("svc", ClientSpec { grants: &["client_credentials"], scopes: &["reports"], ..Default::default() }).await;
        let mut refresh = text(&tokens_for(&app, &browser, &web).await, "refresh_token");
        for _ in 0..3 {
            let (status, next) = app.refresh(&web, &refresh).await;
            assert_eq!(status, 200, "{next}");
            refresh = text(&next, "refresh_token");
        }
        let other = app.web_client("other").await;
        assert_eq!(app.refresh(&other, &refresh).await.0, 400, "a failed refresh: another client's token");
        let res = app.refresh(&web, "not-a-refresh-token").await;
        assert_eq!(res.0, 400, "a failed refresh: unknown token");
        for _ in 0..2 {
            assert_eq!(app.token_request("/token", &svc, &[("grant_type", "client_credentials")]).await.status(), 200);
        }
        let res = app.token_request("/token", &svc, &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
        assert_eq!(res.status(), 400, "a failed client-credentials request");

        portcullis::startup::housekeep(&app.state).await;
        let counted = |grant: &'static str, client: &'static str| {
            let app = &app;
            async move {
                let all = events(app, EventKind::TokenIssued, Some(client)).await;
                all.into_iter().filter(|e| e.detail["grant_type"] == grant).collect::<Vec<_>>()
            }
        };
        let refreshes = counted("refresh_token", "web").await;
        let total: u64 = refreshes.iter().map(|e| e.detail["count"].as_u64().unwrap()).sum();
        assert_eq!(total, 3, "three successful refreshes: {refreshes:?}");
        assert!(refreshes.len() < 3, "counted, not one event per refresh");
        for e in &refreshes {
            assert_eq!(e.actor.as_deref(), Some("system"));
            assert!(e.detail["from_ms"].as_i64() <= e.detail["to_ms"].as_i64(), "{e:?}");
        }
        let grants: Vec<u64> = counted("client_credentials", "svc").await.iter().map(|e| e.detail["count"].as_u64().unwrap()).collect();
        assert_eq!(grants.iter().sum::<u64>(), 2, "{grants:?}");
        assert_eq!(counted("refresh_token", "other").await, vec![], "the failed refresh counts for nothing");
        assert_eq!(counted("authorization_code", "web").await.len(), 1, "the code exchange is its own event");

        let before = events(&app, EventKind::TokenIssued, None).await.len();
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(events(&app, EventKind::TokenIssued, None).await.len(), before, "nothing new to write");
    }
);

async fn revoke(app: &TestApp, client: &TestClient, token: String) -> u16 {
    app.token_request("/revoke", client, &[("token", &token)]).await.status().as_u16()
}

db_test!(
    async fn revoking_a_token_records_token_revoked_once_and_unknown_or_foreign_tokens_record_nothing(backend) {
        let app = spawn_app(backend).await;
        let (browser, alice_id) = alice(&app).await;
        let rp = app.web_client("rp").await;
        let other = app.web_client("other").await;
        let tokens = tokens_for(&app, &browser, &rp).await;
        assert_eq!(revoke(&app, &rp, "no-such-token".into()).await, 200);
        assert_eq!(revoke(&app, &other, text(&tokens, "refresh_token")).await, 200, "another client's token: 200, nothing done");
        assert_eq!(revoke(&app, &other, text(&tokens, "access_token")).await, 200);
        assert_eq!(events(&app, EventKind::TokenRevoked, None).await, vec![]);

        assert_eq!(revoke(&app, &rp, text(&tokens, "refresh_token")).await, 200);
        assert_eq!(revoke(&app, &rp, text(&tokens, "refresh_token")).await, 200, "again: nothing left to revoke");
        let revoked = events(&app, EventKind::TokenRevoked, None).await;
        assert_eq!(revoked.len(), 1, "{revoked:?}");
        let e = &revoked[0];
        assert_eq!((e.actor.as_deref(), e.user_id.as_deref(), e.client_id.as_deref()), (Some("client:rp"), Some(alice_id.as_str()), Some("rp")));
        assert_eq!(e.detail["token_type"], "refresh_token");

        let fresh = tokens_for(&app, &browser, &rp).await;
        assert_eq!(revoke(&app, &rp, text(&fresh, "access_token")).await, 200);
        assert_eq!(revoke(&app, &rp, text(&fresh, "access_token")).await, 200);
        assert_eq!(app.userinfo_status(&text(&fresh, "access_token")).await, 401);
        let revoked = events(&app, EventKind::TokenRevoked, None).await;
        assert_eq!(revoked.len(), 2, "{revoked:?}");
        assert_eq!((revoked[1].detail["token_type"].as_str(), revoked[1].user_id.as_deref()), (Some("access_token"), Some(alice_id.as_str())));
    }
);

db_test!(
    async fn key_rotation_records_key_rotated_once_in_its_transaction_by_schedule_and_by_the_cli(backend) {
        let app = spawn_app(backend).await;
        portcullis::startup::rotate_signing_keys(&app.state).await;
        assert_eq!(events(&app, EventKind::KeyRotated, None).await, vec![], "nothing due on day 0");

        app.clock.advance(time::Duration::days(90));
        let keys_before = app.count("signing_keys").await;
        refuse_events(&app, backend, &["key.rotated"], true).await;
        portcullis::startup::rotate_signing_keys(&app.state).await;
        assert_eq!(app.count("signing_keys").await, keys_before, "no event, no keys: one transaction");
        refuse_events(&app, backend, &["key.rotated"], false).await;

        portcullis::startup::rotate_signing_keys(&app.state).await;
        portcullis::startup::rotate_signing_keys(&app.state).await;
        let rotated = events(&app, EventKind::KeyRotated, None).await;
        assert_eq!(rotated.len(), 1, "one scheduled rotation, once: {rotated:?}");
        assert_eq!((rotated[0].actor.as_deref(), rotated[0].detail["trigger"].as_str()), (Some("system"), Some("scheduled")));
        let kids: Vec<&str> = rotated[0].detail["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids.len(), 3, "one key per algorithm");
        assert_eq!(app.count("signing_keys").await, keys_before + 3);

        let out = portcullis(&app, &["keys", "rotate"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let rotated = events(&app, EventKind::KeyRotated, None).await;
        assert_eq!(rotated.len(), 2);
        // The CLI stamps its event with the real time, not the test's advanced clock.
        let by_cli: Vec<_> = rotated.iter().filter(|e| e.actor.as_deref() == Some("cli")).collect();
        assert_eq!(by_cli.len(), 1, "{rotated:?}");
        assert_eq!((by_cli[0].detail["trigger"].as_str(), by_cli[0].ip.as_deref(), by_cli[0].user_id.as_deref()), (Some("manual"), None, None));
    }
);

db_test!(
    async fn of_two_nodes_that_find_a_rotation_due_at_once_only_the_one_that_rotates_records_it(backend) {
        let a = spawn_app(backend).await;
        let (url, issuer) = (a.database_url.clone(), a.issuer.clone());
        let b = crate::helpers::spawn_app_with(backend, |s| {
            s.database_url = portcullis::secret::Secret::new(url);
            s.issuer = issuer;
        })
        .await;
        let target = a.clock.now().max(b.clock.now()) + time::Duration::days(90);
        a.clock.advance(target - a.clock.now());
        b.clock.advance(target - b.clock.now());
        tokio::join!(portcullis::startup::rotate_signing_keys(&a.state), portcullis::startup::rotate_signing_keys(&b.state));
        let since_ms = (target.unix_timestamp_nanos() / 1_000_000) as i64;
        let rotated: Vec<_> = events(&a, EventKind::KeyRotated, None).await.into_iter().filter(|e| e.at_ms >= since_ms).collect();
        assert_eq!(rotated.len(), 1, "the node that lost the claim wrote nothing: {rotated:?}");
    }
);
