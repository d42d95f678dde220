//! Refresh-token reuse (RFC 9700 §4.14.2, OAuth 2.1 §4.3.1): strict by default — any use of a
//! rotated token revokes its grant, the successor and every access token of it, at once — and
//! an opt-in grace window in milliseconds (`PORTCULLIS_REFRESH_GRACE`, at most 5000) inside
//! which a reuse gets the same successor back, never a second one. Also: the ID token of a
//! refresh keeps the `sid` of the sign-in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;
use portcullis::config::Settings;
use serde_json::Value;
use time::Duration;

use crate::helpers::oidc::{ClientSpec, Consent, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::{Browser, PASSWORD, TestApp, db_test, spawn_app, spawn_app_with};

/// A confidential and a public client, each with the default grants and scopes.
async fn both_kinds_of_client(app: &TestApp) -> Vec<(&'static str, TestClient)> {
    vec![
        ("confidential client", app.web_client("web").await),
        ("public client", app.client("native", ClientSpec { public: true, ..Default::default() }).await),
    ]
}

/// Alice, signed in once in one browser (later authorizations reuse the session).
async fn alice(app: &TestApp) -> Browser {
    let browser = app.browser();
    browser.sign_up("alice", "alice@example.com", PASSWORD).await;
    browser
}

/// A fresh grant for `client`: the code exchange's token response.
async fn grant(app: &TestApp, browser: &Browser, client: &TestClient) -> Value {
    let (verifier, challenge) = pkce();
    let path = authorize_path(&client.id, &challenge, &[("scope", "openid profile offline_access")]);
    let back = drive(browser, &path, ("alice", PASSWORD), Consent::Allow).await;
    let code = param(&back, "code").expect("a code");
    let (status, tokens) = app.exchange(client, &code, &verifier).await;
    assert_eq!(status, 200, "code exchange for {}: {tokens}", client.id);
    tokens
}

fn text(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap_or_else(|| panic!("no {field} in {body}")).to_string()
}

/// The payload of a JWT, decoded (the signature is the relying-party tests' business).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// Whether `/introspect`, asked by `client` (confidential), calls the token active.
async fn introspected_active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let res = app.token_request("/introspect", client, &[("token", token)]).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["active"] == true
}

/// Everything the grant issued is dead: the successor refresh token and every access token.
async fn assert_grant_revoked(app: &TestApp, client: &TestClient, case: &str, successor: &str, access: &[String]) {
    let (status, body) = app.refresh(client, successor).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{case}: the successor is revoked");
    for token in access {
        assert_eq!(app.userinfo_status(token).await, 401, "{case}: an access token of the grant fails at /userinfo");
        if client.secret.is_some() {
            assert!(!introspected_active(app, client, token).await, "{case}: /introspect calls it inactive");
        }
    }
}

db_test!(
    async fn a_rotated_refresh_token_used_again_revokes_the_grant(backend) {
        let app = spawn_app(backend).await;
        let browser = alice(&app).await;
        for (kind, client) in both_kinds_of_client(&app).await {
            for after_ms in [0, 500, 5001] {
                let case = format!("{kind}, reuse {after_ms} ms after the rotation");
                let first = grant(&app, &browser, &client).await;
                let (status, second) = app.refresh(&client, &text(&first, "refresh_token")).await;
                assert_eq!(status, 200, "{case}: the first refresh works: {second}");
                let access = [text(&first, "access_token"), text(&second, "access_token")];
                assert_eq!(app.userinfo_status(&access[1]).await, 200, "{case}: live before the reuse");
                if client.secret.is_some() {
                    assert!(introspected_active(&app, &client, &access[1]).await, "{case}: active before the reuse");
                }

                app.clock.advance(Duration::milliseconds(after_ms));
                let (status, reuse) = app.refresh(&client, &text(&first, "refresh_token")).await;
                assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")), "{case}: {reuse}");
                assert!(reuse.get("refresh_token").is_none(), "{case}: no successor is handed out again");
                assert_grant_revoked(&app, &client, &case, &text(&second, "refresh_token"), &access).await;
            }
        }
    }
);

db_test!(
    async fn with_a_grace_window_a_reuse_inside_it_gets_the_same_successor_and_after_it_revokes_everything(backend) {
        let app = spawn_app_with(backend, |s| s.tokens.refresh_grace_ms = 1000).await;
        let browser = alice(&app).await;
        for (kind, client) in both_kinds_of_client(&app).await {
            for (after_ms, inside) in [(0, true), (500, true), (999, true), (1000, false), (1500, false)] {
                let case = format!("{kind}, grace 1000 ms, reuse {after_ms} ms after the rotation");
                let first = grant(&app, &browser, &client).await;
                let (status, second) = app.refresh(&client, &text(&first, "refresh_token")).await;
                assert_eq!(status, 200, "{case}: the first refresh works: {second}");
                let successor = text(&second, "refresh_token");
                let access = [text(&first, "access_token"), text(&second, "access_token")];

                app.clock.advance(Duration::milliseconds(after_ms));
                let (status, reuse) = app.refresh(&client, &text(&first, "refresh_token")).await;
                if inside {
                    assert_eq!(status, 200, "{case}: inside the window: {reuse}");
                    assert_eq!(text(&reuse, "refresh_token"), successor, "{case}: the same successor, not a second one");
                    assert_eq!(
                        claims(&text(&reuse, "id_token"))["sid"],
                        claims(&text(&first, "id_token"))["sid"],
                        "{case}: the ID token keeps the sign-in's sid"
                    );
                    for token in access.iter().chain([&text(&reuse, "access_token")]) {
                        assert_eq!(app.userinfo_status(token).await, 200, "{case}: the grant lives on");
                    }
                    let (status, third) = app.refresh(&client, &successor).await;
                    assert_eq!(status, 200, "{case}: the one successor is live: {third}");
                } else {
                    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")), "{case}: {reuse}");
                    assert_grant_revoked(&app, &client, &case, &successor, &access).await;
                }
            }
        }
    }
);

db_test!(
    async fn with_a_grace_window_twenty_parallel_refreshes_share_one_live_successor(backend) {
        let app = spawn_app_with(backend, |s| s.tokens.refresh_grace_ms = 2000).await;
        let browser = alice(&app).await;
        let client = app.web_client("web").await;
        let first = grant(&app, &browser, &client).await;
        let r1 = text(&first, "refresh_token");
        let results = join_all((0..20).map(|_| app.refresh(&client, &r1))).await;
        assert!(results.iter().all(|(s, _)| *s == 200), "every racer is inside the window: {results:?}");
        let mut successors: Vec<String> = results.iter().map(|(_, b)| text(b, "refresh_token")).collect();
        successors.sort();
        successors.dedup();
        assert_eq!(successors.len(), 1, "every racer got the same successor");
        let (status, _) = app.refresh(&client, &successors[0]).await;
        assert_eq!(status, 200, "the one successor is live");
    }
);

db_test!(
    async fn the_id_token_from_a_refresh_keeps_the_sid_of_the_sign_in(backend) {
        let app = spawn_app(backend).await;
        let browser = alice(&app).await;
        let client = app.web_client("web").await;
        let first = grant(&app, &browser, &client).await;
        let sid = claims(&text(&first, "id_token"))["sid"].clone();
        assert!(sid.as_str().is_some_and(|s| !s.is_empty()), "the code exchange's ID token names the session: {sid}");

        let mut refresh = text(&first, "refresh_token");
        for round in 1..=2 {
            let (status, next) = app.refresh(&client, &refresh).await;
            assert_eq!(status, 200, "refresh {round}: {next}");
            assert_eq!(claims(&text(&next, "id_token"))["sid"], sid, "refresh {round}: the same sid");
            refresh = text(&next, "refresh_token");
        }
    }
);

fn load(grace: &str) -> Result<Settings, String> {
    Settings::load(None, [("PORTCULLIS_REFRESH_GRACE".to_string(), grace.to_string())]).map_err(|e| e.to_string())
}

#[test]
fn the_grace_window_is_off_by_default_and_portcullis_refresh_grace_sets_it_in_milliseconds() {
    assert_eq!(Settings::defaults().unwrap().tokens.refresh_grace_ms, 0, "strict by default");
    assert_eq!(load("0").unwrap().tokens.refresh_grace_ms, 0);
    assert_eq!(load("1500").unwrap().tokens.refresh_grace_ms, 1500, "milliseconds");
    assert_eq!(load("5000").unwrap().tokens.refresh_grace_ms, 5000, "the upper bound itself");
    for bad in ["5001", "-1", "86400000"] {
        let err = load(bad).unwrap_err();
        assert!(
            err.contains("tokens.refresh_grace_ms") && err.contains("PORTCULLIS_REFRESH_GRACE") && err.contains("5000"),
            "{bad}: the error names the setting, its variable and the bound: {err}"
        );
    }
}
