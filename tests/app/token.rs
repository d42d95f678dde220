//! The token endpoint: codes, client authentication, refresh rotation, client credentials.

use futures::future::join_all;

use crate::helpers::oidc::{ClientSpec, Consent, REDIRECT_URI, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app};

/// Alice signs in and approves `client`; returns (code, verifier).
async fn code_for(app: &TestApp, client: &TestClient, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let browser = app.browser();
    let back = drive(
        &browser,
        &authorize_path(&client.id, &challenge, &[("scope", scope)]),
        ("alice", PASSWORD),
        Consent::Allow,
    )
    .await;
    (param(&back, "code").expect("a code"), verifier)
}

async fn with_alice(app: &TestApp) {
    app.browser().register("alice", "alice@example.com", PASSWORD).await;
}

db_test!(
    async fn a_reused_code_fails_and_revokes_the_tokens_it_issued(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let (code, verifier) = code_for(&app, &client, "openid offline_access").await;
        let (status, first) = app.exchange(&client, &code, &verifier).await;
        assert_eq!(status, 200, "{first}");
        let access = first["access_token"].as_str().unwrap();
        assert_eq!(app.userinfo_status(access).await, 200);

        let (status, second) = app.exchange(&client, &code, &verifier).await;
        assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")));
        assert_eq!(app.userinfo_status(access).await, 401, "the access token died with its grant");
        let (status, refreshed) = app.refresh(&client, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!((status, refreshed["error"].as_str()), (400, Some("invalid_grant")), "and so did the refresh token");
    }
);

db_test!(
    async fn twenty_parallel_redemptions_of_one_code_yield_exactly_one_success(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let (code, verifier) = code_for(&app, &client, "openid").await;
        let results = join_all((0..20).map(|_| app.exchange(&client, &code, &verifier))).await;
        let wins = results.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!(wins, 1, "{:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
        assert!(results.iter().all(|(s, b)| *s == 200 || b["error"] == "invalid_grant"));
    }
);

db_test!(
    async fn a_code_is_bound_to_its_client_redirect_uri_and_verifier_and_those_checks_do_not_burn_it(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let other = app.web_client("other").await;
        let (code, verifier) = code_for(&app, &client, "openid").await;

        let (status, body) = app.exchange(&other, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another client");
        let res = app
            .token_request(
                "/token",
                &client,
                &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://rp.example/other"), ("code_verifier", &verifier)],
            )
            .await;
        assert_eq!(res.status(), 400, "another redirect URI");
        let (wrong, _) = pkce();
        assert_eq!(app.exchange(&client, &code, &wrong).await.1["error"], "invalid_grant", "a wrong verifier");
        let res = app.token_request("/token", &client, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)]).await;
        assert_eq!(res.status(), 400, "no verifier (PKCE downgrade)");

        let (status, _) = app.exchange(&client, &code, &verifier).await;
        assert_eq!(status, 200, "the rightful redemption still works");
    }
);

db_test!(
    async fn codes_expire_after_sixty_seconds(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let (code, verifier) = code_for(&app, &client, "openid").await;
        app.clock.advance(time::Duration::seconds(61));
        assert_eq!(app.exchange(&client, &code, &verifier).await.1["error"], "invalid_grant");
    }
);

db_test!(
    async fn client_authentication_failures_are_401_invalid_client_with_a_challenge(backend) {
        let app = spawn_app(backend).await;
        let client = app.web_client("rp").await;
        let cases = [
            ("wrong secret", reqwest::Client::new().post(app.url("/token")).basic_auth("rp", Some("wrong")).form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])),
            ("unknown client", reqwest::Client::new().post(app.url("/token")).basic_auth("nobody", Some("x")).form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])),
            ("no secret", reqwest::Client::new().post(app.url("/token")).form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "rp")])),
            ("post secret wrong", reqwest::Client::new().post(app.url("/token")).form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "rp"), ("client_secret", "nope")])),
        ];
        for (case, req) in cases {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{case}");
            assert!(res.headers().get("www-authenticate").is_some(), "{case}");
            assert_eq!(res.headers()["cache-control"], "no-store", "{case}");
            assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "invalid_client", "{case}");
        }
        let secret = client.secret.unwrap();
        let both = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth("rp", Some(&secret))
            .form(&[("grant_type", "client_credentials"), ("client_secret", secret.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(both.status(), 400, "two authentication methods at once");
        let post = reqwest::Client::new()
            .post(app.url("/token"))
            .form(&[("grant_type", "unknown_grant"), ("client_id", "rp"), ("client_secret", secret.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(post.json::<serde_json::Value>().await.unwrap()["error"], "unsupported_grant_type");
        let json = reqwest::Client::new().post(app.url("/token")).json(&serde_json::json!({"grant_type": "client_credentials"})).send().await.unwrap();
        assert_eq!(json.status(), 400, "a JSON body is an invalid_request, not a 500");
    }
);

db_test!(
    async fn refresh_rotates_and_reuse_of_a_rotated_token_revokes_the_family(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let (code, verifier) = code_for(&app, &client, "openid profile offline_access").await;
        let (_, first) = app.exchange(&client, &code, &verifier).await;
        let r1 = first["refresh_token"].as_str().unwrap().to_string();

        let (status, second) = app.refresh(&client, &r1).await;
        assert_eq!(status, 200);
        let r2 = second["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);
        let (status, narrowed) = {
            let res = app.token_request("/token", &client, &[("grant_type", "refresh_token"), ("refresh_token", &r2), ("scope", "openid")]).await;
            (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
        };
        assert_eq!((status, narrowed["scope"].as_str()), (200, Some("openid")), "scope may narrow");
        let r3 = narrowed["refresh_token"].as_str().unwrap().to_string();
        let res = app.token_request("/token", &client, &[("grant_type", "refresh_token"), ("refresh_token", &r3), ("scope", "openid email")]).await;
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "invalid_scope", "never widen");

        app.clock.advance(time::Duration::seconds(60));
        let (status, reuse) = app.refresh(&client, &r1).await;
        assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")), "a rotated token is dead");
        let (status, _) = app.refresh(&client, &r3).await;
        assert_eq!(status, 400, "and its reuse revoked the whole family");
        assert_eq!(app.userinfo_status(narrowed["access_token"].as_str().unwrap()).await, 401);

        let other = app.web_client("other").await;
        let (code, verifier) = code_for(&app, &other, "openid offline_access").await;
        let (_, theirs) = app.exchange(&other, &code, &verifier).await;
        let (status, _) = app.refresh(&client, theirs["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 400, "a refresh token is bound to its client");
    }
);

db_test!(
    /// Strict by default: the racers that lose are indistinguishable from a replay, so they
    /// revoke the grant (with a grace window they share one successor: refresh_reuse.rs).
    async fn twenty_parallel_refreshes_never_produce_two_live_successors(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let client = app.web_client("rp").await;
        let (code, verifier) = code_for(&app, &client, "openid offline_access").await;
        let (_, first) = app.exchange(&client, &code, &verifier).await;
        let r1 = first["refresh_token"].as_str().unwrap().to_string();
        let results = join_all((0..20).map(|_| app.refresh(&client, &r1))).await;
        let wins: Vec<&serde_json::Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
        assert_eq!(wins.len(), 1, "exactly one racer rotates: {:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
        assert!(results.iter().all(|(s, b)| *s == 200 || b["error"] == "invalid_grant"));
        let (status, _) = app.refresh(&client, wins[0]["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 400, "the losers' reuse revoked the grant, the winner's successor with it");
        assert_eq!(app.userinfo_status(wins[0]["access_token"].as_str().unwrap()).await, 401);
    }
);

db_test!(
    async fn client_credentials_issue_an_access_token_for_the_client_itself(backend) {
        let app = spawn_app(backend).await;
        let client = app.client("service", ClientSpec { grants: &["client_credentials"], scopes: &["reports.read", "reports.write"], ..Default::default() }).await;
        let res = app.token_request("/token", &client, &[("grant_type", "client_credentials"), ("scope", "reports.read")]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.headers().get("set-cookie").is_none(), "no cookies on the token endpoint");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
        let introspected = app.token_request("/introspect", &client, &[("token", body["access_token"].as_str().unwrap())]).await;
        let info: serde_json::Value = introspected.json().await.unwrap();
        assert_eq!((info["active"].as_bool(), info["sub"].as_str(), info["scope"].as_str()), (Some(true), Some("service"), Some("reports.read")));

        let res = app.token_request("/token", &client, &[("grant_type", "client_credentials"), ("scope", "openid")]).await;
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "invalid_scope");
        let web = app.web_client("web").await;
        let res = app.token_request("/token", &web, &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "unauthorized_client");
    }
);

db_test!(
    async fn public_clients_use_pkce_without_a_secret(backend) {
        let app = spawn_app(backend).await;
        with_alice(&app).await;
        let native = app.client("native", ClientSpec { public: true, ..Default::default() }).await;
        let (code, verifier) = code_for(&app, &native, "openid").await;
        let (status, body) = app.exchange(&native, &code, &verifier).await;
        assert_eq!(status, 200, "{body}");
        let with_secret = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth("native", Some("made-up"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(with_secret.status(), 401, "a public client presenting a secret is refused");
    }
);
