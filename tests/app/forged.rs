//! Access tokens we did not issue, or issued for something else, are refused at userinfo.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{ES256, HS256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};

use crate::helpers::oidc::{Consent, authorize_path, drive, param, pkce};
use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app};

/// Alice's tokens from a code flow with `openid profile`.
async fn alice_tokens(app: &TestApp) -> Value {
    app.browser().register("alice", "alice@example.com", PASSWORD).await;
    let client = app.web_client("rp").await;
    let (verifier, challenge) = pkce();
    let back = drive(
        &app.browser(),
        &authorize_path("rp", &challenge, &[("scope", "openid profile")]),
        ("alice", PASSWORD),
        Consent::Allow,
    )
    .await;
    app.exchange(&client, &param(&back, "code").unwrap(), &verifier).await.1
}

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn payload_of(claims: &Value) -> JwtPayload {
    JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap()
}

db_test!(
    async fn forged_and_misused_tokens_are_refused_at_userinfo(backend) {
        let app = spawn_app(backend).await;
        let tokens = alice_tokens(&app).await;
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.userinfo_status(access).await, 200, "the genuine token works");
        let header = part(access, 0);
        let claims = part(access, 1);
        assert_eq!(header["typ"], "at+jwt");
        let kid = header["kid"].as_str().unwrap();
        let (head, body, sig) = {
            let mut p = access.split('.');
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };

        let none = format!("{}.{body}.", b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})));
        let stripped = format!("{head}.{body}.");
        let mut tampered_claims = claims.clone();
        tampered_claims["sub"] = json!("someone-else");
        let tampered = format!("{head}.{}.{sig}", b64(&tampered_claims));

        let jwks: Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
        let public_key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap().to_string();
        let mut hs_header = JwsHeader::new();
        hs_header.set_token_type("at+jwt");
        hs_header.set_key_id(kid);
        let hs256 = jwt::encode_with_signer(&payload_of(&claims), &hs_header, &HS256.signer_from_bytes(public_key.as_bytes()).unwrap()).unwrap();

        let attacker = ES256.generate_key_pair().unwrap();
        let mut unknown_header = JwsHeader::new();
        unknown_header.set_token_type("at+jwt");
        unknown_header.set_key_id("not-one-of-ours");
        let attacker_signer = ES256.signer_from_der(josekit::jwk::KeyPair::to_der_private_key(&attacker)).unwrap();
        let unknown_kid = jwt::encode_with_signer(&payload_of(&claims), &unknown_header, &attacker_signer).unwrap();
        let mut embedded_header = JwsHeader::new();
        embedded_header.set_token_type("at+jwt");
        embedded_header.set_key_id(kid);
        embedded_header.set_claim("jwk", Some(serde_json::to_value(josekit::jwk::KeyPair::to_jwk_public_key(&attacker).as_ref()).unwrap())).unwrap();
        let embedded_jwk = jwt::encode_with_signer(&payload_of(&claims), &embedded_header, &attacker_signer).unwrap();

        let id_token = tokens["id_token"].as_str().unwrap();
        let cases = [
            ("alg none", none.as_str()),
            ("stripped signature", stripped.as_str()),
            ("tampered payload", tampered.as_str()),
            ("HS256 keyed with our public key", hs256.as_str()),
            ("unknown kid", unknown_kid.as_str()),
            ("embedded jwk", embedded_jwk.as_str()),
            ("ID token as access token", id_token),
            ("garbage", "not.a.token"),
        ];
        for (case, token) in cases {
            let res = reqwest::Client::new().get(app.url("/userinfo")).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 401, "{case}");
            assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"), "{case}");
        }
        let missing = reqwest::get(app.url("/userinfo")).await.unwrap();
        assert_eq!(missing.status(), 401);

        app.clock.advance(time::Duration::seconds(600 + 31));
        assert_eq!(app.userinfo_status(access).await, 401, "expired beyond the leeway");
    }
);

db_test!(
    async fn revocation_and_introspection_follow_rfc_7009_and_7662(backend) {
        let app = spawn_app(backend).await;
        let tokens = alice_tokens(&app).await;
        let rp = crate::helpers::oidc::TestClient { id: "rp".into(), secret: None };
        let _ = rp;
        let other = app.web_client("other").await;
        let client = {
            // `alice_tokens` registered "rp"; rotate its secret to get one we know.
            let secret = app.state.provider.rotate_client_secret(&portcullis::audit::Actor::Cli, "rp").await.unwrap();
            crate::helpers::oidc::TestClient { id: "rp".into(), secret: Some(secret.expose().to_string()) }
        };
        let access = tokens["access_token"].as_str().unwrap();
        let refresh = tokens["refresh_token"].as_str().unwrap();

        let res = app.token_request("/introspect", &client, &[("token", access)]).await;
        let info: Value = res.json().await.unwrap();
        assert_eq!((info["active"].as_bool(), info["client_id"].as_str()), (Some(true), Some("rp")));
        let garbage: Value = app.token_request("/introspect", &client, &[("token", "nonsense")]).await.json().await.unwrap();
        assert_eq!(garbage, json!({"active": false}));

        let res = app.token_request("/revoke", &other, &[("token", refresh)]).await;
        assert_eq!(res.status(), 200, "another client's token: the same answer");
        assert_eq!(app.userinfo_status(access).await, 200, "but nothing was revoked");

        let res = app.token_request("/revoke", &client, &[("token", "never-issued")]).await;
        assert_eq!(res.status(), 200, "unknown tokens: 200");
        let res = app.token_request("/revoke", &client, &[("token", refresh), ("token_type_hint", "refresh_token")]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(app.refresh(&client, refresh).await.0, 400, "the refresh token is dead");
        assert_eq!(app.userinfo_status(access).await, 401, "and its grant's access tokens with it");
        let info: Value = app.token_request("/introspect", &client, &[("token", access)]).await.json().await.unwrap();
        assert_eq!(info, json!({"active": false}));
    }
);

db_test!(
    async fn revoking_an_access_token_ends_it_alone(backend) {
        let app = spawn_app(backend).await;
        let tokens = alice_tokens(&app).await;
        let secret = app.state.provider.rotate_client_secret(&portcullis::audit::Actor::Cli, "rp").await.unwrap();
        let client = crate::helpers::oidc::TestClient { id: "rp".into(), secret: Some(secret.expose().to_string()) };
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(app.token_request("/revoke", &client, &[("token", access)]).await.status(), 200);
        assert_eq!(app.userinfo_status(access).await, 401);
        let (status, refreshed) = app.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "the refresh token still works");
        assert_eq!(app.userinfo_status(refreshed["access_token"].as_str().unwrap()).await, 200);
    }
);

db_test!(
    async fn userinfo_takes_the_token_one_way_only_and_public_clients_cannot_introspect(backend) {
        let app = spawn_app(backend).await;
        let tokens = alice_tokens(&app).await;
        let access = tokens["access_token"].as_str().unwrap();
        let http = reqwest::Client::new();
        let by_form = http.post(app.url("/userinfo")).form(&[("access_token", access)]).send().await.unwrap();
        assert_eq!(by_form.status(), 200, "RFC 6750 §2.2: the form body");
        let both = http.post(app.url("/userinfo")).bearer_auth(access).form(&[("access_token", access)]).send().await.unwrap();
        assert_eq!(both.status(), 400, "RFC 6750 §3.1: two methods are invalid_request");
        assert_eq!(both.json::<Value>().await.unwrap()["error"], "invalid_request");

        let native = app.client("native", crate::helpers::oidc::ClientSpec { public: true, ..Default::default() }).await;
        let res = app.token_request("/introspect", &native, &[("token", access)]).await;
        assert_eq!(res.status(), 401, "introspection is for confidential clients");
        let head = http.head(app.url("/")).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD works where GET does");
    }
);
