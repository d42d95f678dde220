//! RP-initiated logout and what every kind of sign-out revokes.

use crate::helpers::oidc::{Consent, POST_LOGOUT_URI, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::{Browser, PASSWORD, TestApp, db_test, location, spawn_app};

/// Alice, signed in on `browser`, authorizes `rp`; returns its tokens.
async fn tokens(app: &TestApp, browser: &Browser, client: &TestClient, scope: &str) -> serde_json::Value {
    let (verifier, challenge) = pkce();
    let back = drive(
        browser,
        &authorize_path(&client.id, &challenge, &[("scope", scope)]),
        ("alice", PASSWORD),
        Consent::Allow,
    )
    .await;
    app.exchange(client, &param(&back, "code").unwrap(), &verifier).await.1
}

fn end_session(hint: &str, redirect: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", redirect)
        .append_pair("state", "bye-1")
        .finish();
    format!("/end-session?{q}")
}

db_test!(
    async fn rp_initiated_logout_with_a_valid_hint_ends_the_session_and_returns_with_state(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let client = app.web_client("rp").await;
        let browser = app.browser();
        let online = tokens(&app, &browser, &client, "openid").await;
        let offline = tokens(&app, &browser, &client, "openid offline_access").await;

        let res = browser.get(&end_session(online["id_token"].as_str().unwrap(), POST_LOGOUT_URI)).await;
        assert_eq!(res.status(), 303);
        let loc = location(&res);
        assert!(loc.starts_with(POST_LOGOUT_URI), "{loc}");
        assert_eq!(param(&loc, "state").as_deref(), Some("bye-1"));
        assert_eq!(browser.get("/profile").await.status(), 303, "the session ended");
        assert_eq!(app.refresh(&client, online["refresh_token"].as_str().unwrap()).await.0, 400, "online refresh tokens end with the session");
        assert_eq!(app.refresh(&client, offline["refresh_token"].as_str().unwrap()).await.0, 200, "offline_access survives logout");
    }
);

db_test!(
    async fn an_unregistered_post_logout_uri_gets_no_redirect_and_a_missing_hint_asks_first(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let client = app.web_client("rp").await;
        let browser = app.browser();
        let t = tokens(&app, &browser, &client, "openid").await;
        let res = browser.get(&end_session(t["id_token"].as_str().unwrap(), "https://evil.test/after")).await;
        assert_eq!(res.status(), 200, "signed out, but no redirect to an unregistered URI");
        assert!(res.headers().get("location").is_none());

        let browser = app.browser();
        browser.login("alice", PASSWORD).await;
        let res = browser.get(&format!("/end-session?client_id=rp&post_logout_redirect_uri={}", urlencode(POST_LOGOUT_URI))).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("Sign out?"), "no hint: the user is asked");
        assert_eq!(browser.get("/profile").await.status(), 200, "still signed in until they confirm");
        let res = browser.submit("/end-session/confirm", &[("client_id", "rp"), ("post_logout_redirect_uri", POST_LOGOUT_URI)]).await;
        assert!(location(&res).starts_with(POST_LOGOUT_URI));
        assert_eq!(browser.get("/profile").await.status(), 303);
    }
);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

db_test!(
    async fn hosted_logout_and_password_change_revoke_refresh_tokens(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let client = app.web_client("rp").await;
        let browser = app.browser();
        let online = tokens(&app, &browser, &client, "openid").await;
        browser.logout().await;
        assert_eq!(app.refresh(&client, online["refresh_token"].as_str().unwrap()).await.0, 400, "hosted logout ends online grants");

        let browser = app.browser();
        let offline = tokens(&app, &browser, &client, "openid offline_access").await;
        let new = "a completely new passphrase";
        browser.submit("/profile/password", &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)]).await;
        assert_eq!(app.refresh(&client, offline["refresh_token"].as_str().unwrap()).await.0, 400, "a password change ends every grant");
        assert_eq!(app.userinfo_status(offline["access_token"].as_str().unwrap()).await, 401);
    }
);
