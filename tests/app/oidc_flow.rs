//! The happy path, driven by an independent relying party: the `openidconnect` crate does
//! discovery, builds the request with PKCE and nonce, exchanges the code, verifies the ID
//! token against our JWKS (signature, iss, aud, exp, nonce, at_hash), calls userinfo and
//! refreshes.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::oidc::{Consent, REDIRECT_URI, drive, param, rp_http};
use crate::helpers::{PASSWORD, db_test, spawn_app};

db_test!(
    async fn a_relying_party_library_completes_the_code_flow_and_verifies_everything(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let registered = app.web_client("rp").await;
        let http = rp_http();

        let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http).await.unwrap();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(registered.id.clone()),
            Some(ClientSecret::new(registered.secret.clone().unwrap())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let path = url.as_str().strip_prefix(&app.issuer).unwrap().to_string();

        let browser = app.browser();
        let back = drive(&browser, &path, ("alice", PASSWORD), Consent::Allow).await;
        assert!(back.starts_with(REDIRECT_URI), "{back}");
        assert_eq!(param(&back, "state").as_deref(), Some(csrf.secret().as_str()));
        assert_eq!(param(&back, "iss").as_deref(), Some(app.issuer.as_str()), "RFC 9207 iss");
        let code = param(&back, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("the code exchanges");
        let id_token = tokens.id_token().expect("an ID token");
        let id_verifier = client.id_token_verifier();
        let claims = id_token.claims(&id_verifier, &nonce).expect("the ID token verifies against the JWKS");
        assert_eq!(claims.issuer().as_str(), app.issuer);
        assert_eq!(claims.audiences()[0].as_str(), "rp");
        assert_eq!(claims.subject().as_str(), app.user_id("alice").await);
        assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
        assert!(claims.auth_time().is_some());
        assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");
        let expected = claims.access_token_hash().expect("at_hash");
        let actual = AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().unwrap(), id_token.signing_key(&id_verifier).unwrap())
            .unwrap();
        assert_eq!(&actual, expected, "at_hash binds the access token");

        let info: CoreUserInfoClaims =
            client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http).await.expect("userinfo");
        assert_eq!(info.subject().as_str(), claims.subject().as_str(), "userinfo sub equals the ID token's");
        assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

        let refresh = tokens.refresh_token().expect("a refresh token (offline_access)");
        let refreshed = client.exchange_refresh_token(refresh).unwrap().request_async(&http).await.expect("refresh works");
        assert_ne!(refreshed.refresh_token().unwrap().secret(), refresh.secret(), "rotation");
        assert_eq!(app.userinfo_status(refreshed.access_token().secret()).await, 200);
    }
);

db_test!(
    async fn discovery_advertises_only_what_works_and_the_jwks_is_public_keys_only(backend) {
        let app = spawn_app(backend).await;
        let res = reqwest::get(app.url("/.well-known/openid-configuration")).await.unwrap();
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "public metadata, readable by browser clients");
        let doc: serde_json::Value = res.json().await.unwrap();
        assert_eq!(doc["issuer"], app.issuer, "byte for byte");
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        let grants = doc["grant_types_supported"].as_array().unwrap();
        assert!(!grants.iter().any(|g| g == "password" || g == "implicit"));
        let as_meta: serde_json::Value =
            reqwest::get(app.url("/.well-known/oauth-authorization-server")).await.unwrap().json().await.unwrap();
        assert_eq!(as_meta["issuer"], app.issuer);

        let jwks: serde_json::Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3, "RS256, ES256 and EdDSA");
        let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
        kids.dedup();
        assert_eq!(kids.len(), 3, "unique kids");
        for key in keys {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "no private parameter {private} in {key}");
            }
            assert_eq!(key["use"], "sig");
        }
    }
);
