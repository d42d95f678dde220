//! Signing keys persist across restarts and rotate without breaking issued tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::helpers::oidc::ClientSpec;
use crate::helpers::{TestApp, db_test, spawn_app, spawn_app_with};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
    let mut kids: Vec<String> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
    kids.sort();
    kids
}

fn kid_of(token: &str) -> String {
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

async fn service_token(app: &TestApp) -> String {
    let client = crate::helpers::oidc::TestClient {
        id: "svc".into(),
        secret: Some(
            app.state
                .provider
                .rotate_client_secret(&portcullis::audit::Actor::Cli, "svc")
                .await
                .unwrap()
                .expose()
                .to_string(),
        ),
    };
    let res = app.token_request("/token", &client, &[("grant_type", "client_credentials")]).await;
    res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn introspect_active(app: &TestApp, token: &str) -> bool {
    let client = crate::helpers::oidc::TestClient {
        id: "svc".into(),
        secret: Some(
            app.state
                .provider
                .rotate_client_secret(&portcullis::audit::Actor::Cli, "svc")
                .await
                .unwrap()
                .expose()
                .to_string(),
        ),
    };
    let info: serde_json::Value =
        app.token_request("/introspect", &client, &[("token", token)]).await.json().await.unwrap();
    info["active"] == true
}

db_test!(
    async fn keys_survive_a_restart_and_rotation_keeps_old_tokens_valid(backend) {
        let app = spawn_app(backend).await;
        app.client("svc", ClientSpec { grants: &["client_credentials"], scopes: &["api"], ..Default::default() }).await;
        let before = jwks_kids(&app).await;
        let old_token = service_token(&app).await;

        let (url, issuer) = (app.database_url.clone(), app.issuer.clone());
        let restarted = spawn_app_with(backend, |s| {
            s.database_url = portcullis::secret::Secret::new(url);
            s.issuer = issuer;
        })
        .await;
        assert_eq!(jwks_kids(&restarted).await, before, "the same keys after a restart");
        assert!(introspect_active(&restarted, &old_token).await, "a token from before the restart verifies");

        let out = crate::cli::portcullis(&app, &["keys", "rotate", "--delay", "0"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        app.clock.advance(time::Duration::seconds(61));
        let after = jwks_kids(&app).await;
        assert_eq!(after.len(), 6, "new keys published beside the old ones");
        let new_token = service_token(&app).await;
        assert_ne!(kid_of(&new_token), kid_of(&old_token), "new tokens use the new kid");
        assert!(before.contains(&kid_of(&old_token)));
        assert!(introspect_active(&app, &old_token).await, "old tokens still verify");
        assert!(introspect_active(&app, &new_token).await);
    }
);
