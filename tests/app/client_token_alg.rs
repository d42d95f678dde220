//! Per-client ID tokens: `id_token_signed_response_alg` (RS256 unless a client registers
//! ES256 or EdDSA) and whether a refresh carries a new ID token (OIDC Core §12.2), checked
//! by an independent relying party (the `openidconnect` crate verifies against our JWKS).

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};
use portcullis::oauth::keys::Alg;

use crate::cli::portcullis;
use crate::helpers::oidc::{ClientSpec, Consent, REDIRECT_URI, TestClient, drive, param, rp_http};
use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app};

const GRANTS: &[&str] = &["authorization_code", "refresh_token"];
const SCOPES: &[&str] = &["openid", "profile", "offline_access"];

fn alg_of(jwt: &str) -> String {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["alg"].as_str().unwrap().to_string()
}

/// The relying party signs alice in to `registered`, expecting ID tokens signed with `alg`;
/// returns the code exchange's ID-token algorithm and the refresh's response (id_token
/// verified when present), as (code alg, refresh id_token alg or None).
async fn sign_in_and_refresh(
    app: &TestApp,
    registered: &TestClient,
    alg: CoreJwsSigningAlgorithm,
) -> (String, Option<String>) {
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http).await.unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let path = url.as_str().strip_prefix(&app.issuer).unwrap().to_string();
    let back = drive(&app.browser(), &path, ("alice", PASSWORD), Consent::Allow).await;
    let code = param(&back, "code").expect("a code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_verifier = client.id_token_verifier().set_allowed_algs([alg.clone()]);
    let id_token = tokens.id_token().expect("an ID token from the code exchange");
    id_token
        .claims(&id_verifier, &nonce)
        .expect("the ID token verifies against the JWKS with the registered algorithm");
    let code_alg = alg_of(&id_token.to_string());

    let refreshed =
        client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request_async(&http).await.unwrap();
    let refresh_alg = refreshed.id_token().map(|t| {
        // OIDC Core §12.2: no nonce on a refresh's ID token; same iss, sub and aud as before.
        let claims = t.claims(&id_verifier, |_: Option<&Nonce>| Ok(())).expect("the refreshed ID token verifies");
        assert_eq!(claims.audiences()[0].as_str(), registered.id);
        alg_of(&t.to_string())
    });
    (code_alg, refresh_alg)
}

db_test!(
    async fn a_client_registered_for_es256_or_eddsa_gets_id_tokens_signed_so_and_others_keep_rs256(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let metadata: serde_json::Value =
            reqwest::get(app.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        assert_eq!(
            metadata["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256", "EdDSA"]),
            "discovery lists every algorithm a client may register, RS256 (OIDC's default) first"
        );

        for (id, registered, rp_alg, expected) in [
            ("default", None, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, "RS256"),
            ("p256", Some(Alg::ES256), CoreJwsSigningAlgorithm::EcdsaP256Sha256, "ES256"),
            ("ed", Some(Alg::EdDSA), CoreJwsSigningAlgorithm::EdDsa, "EdDSA"),
        ] {
            let spec = ClientSpec { grants: GRANTS, scopes: SCOPES, id_token_alg: registered, ..Default::default() };
            let client = app.client(id, spec).await;
            let (code_alg, refresh_alg) = sign_in_and_refresh(&app, &client, rp_alg).await;
            assert_eq!(code_alg, expected, "{id}: the code exchange's ID token");
            assert_eq!(refresh_alg.as_deref(), Some(expected), "{id}: a refresh carries a new ID token, signed the same way");
        }
    }
);

db_test!(
    async fn a_client_registered_without_refresh_id_tokens_gets_none_on_refresh_but_one_at_sign_in(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let spec = ClientSpec {
            grants: GRANTS,
            scopes: SCOPES,
            id_token_alg: Some(Alg::ES256),
            no_refresh_id_token: true,
            ..Default::default()
        };
        let client = app.client("lean", spec).await;
        let (code_alg, refresh_alg) = sign_in_and_refresh(&app, &client, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
        assert_eq!(code_alg, "ES256");
        assert_eq!(refresh_alg, None, "OIDC Core §12.2: the refresh response omits the ID token for this client");
    }
);

db_test!(
    async fn client_add_registers_the_id_token_algorithm_and_refuses_an_unknown_one(backend) {
        let app = spawn_app(backend).await;
        let out = portcullis(&app, &["client", "add", "--id", "hs", "--redirect-uri", REDIRECT_URI, "--id-token-alg", "HS256"], "");
        assert_eq!(out.status.code(), Some(2), "clap refuses the value before anything is stored");
        assert!(String::from_utf8_lossy(&out.stderr).contains("RS256, ES256, EdDSA"));
        assert_eq!(app.count("oauth_clients WHERE id = 'hs'").await, 0);

        let args = ["client", "add", "--id", "p256", "--redirect-uri", REDIRECT_URI, "--id-token-alg", "ES256", "--no-refresh-id-token"];
        assert!(portcullis(&app, &args, "").status.success());
        let stored = app.scalar("SELECT COUNT(*) FROM oauth_clients WHERE id = 'p256' AND id_token_signed_response_alg = 'ES256'").await;
        assert_eq!(stored, 1, "the algorithm is stored by its JWS name");
        let list = String::from_utf8_lossy(&portcullis(&app, &["client", "list"], "").stdout).to_string();
        assert!(list.contains("id-token-alg=ES256") && list.contains("no-refresh-id-token"), "{list}");
        assert!(portcullis(&app, &["client", "add", "--id", "plain", "--redirect-uri", REDIRECT_URI], "").status.success());
        let plain = app.scalar("SELECT COUNT(*) FROM oauth_clients WHERE id = 'plain' AND id_token_signed_response_alg IS NULL").await;
        assert_eq!(plain, 1, "without the flag: the server's default (RS256)");
    }
);
