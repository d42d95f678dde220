//! OpenID Provider metadata (OIDC Discovery 1.0, RFC 8414) and the JWKS. Both advertise only
//! what works here, and both are public: any origin may read them (browser-based clients).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::paths;
use crate::oauth::client::DEVICE_CODE_GRANT;
use crate::oauth::keys::Alg;
use crate::oauth::scope::OIDC_SCOPES;
use crate::state::AppState;

pub fn metadata(issuer: &str) -> serde_json::Value {
    let url = |path: &str| format!("{issuer}{path}");
    let algs: Vec<&str> = Alg::ALL.iter().map(|a| a.name()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "userinfo_endpoint": url(paths::USERINFO),
        "jwks_uri": url(paths::JWKS),
        "revocation_endpoint": url(paths::REVOKE),
        "introspection_endpoint": url(paths::INTROSPECT),
        "end_session_endpoint": url(paths::END_SESSION),
        "device_authorization_endpoint": url(paths::DEVICE_AUTHORIZATION),
        "scopes_supported": OIDC_SCOPES,
        "ui_locales_supported": crate::i18n::Lang::supported_tags(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash",
                             "name", "preferred_username", "updated_at", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        // `acr` of a password sign-in, and of two factors (password + TOTP, or a passkey
        // with user verification); `acr_values` with the second asks for it (step-up).
        "acr_values_supported": [crate::oauth::tokens::ACR_PASSWORD, crate::oauth::tokens::ACR_MFA],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "require_pushed_authorization_requests": false,
    })
}

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        // Serialized once at startup; a clone is a reference count, not a copy.
        state.discovery.clone(),
    )
        .into_response()
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.provider.keys().jwks().await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/jwk-set+json"),
                (header::CACHE_CONTROL, "public, max-age=60"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "JWKS unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "").into_response()
        }
    }
}
