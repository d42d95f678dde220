//! Passkey ceremonies for first-party apps, as JSON: `begin` hands out the WebAuthn options
//! and a `ceremony` id (the caller keeps it: it is the binding between begin and finish, used
//! once, for at most five minutes); `finish` takes the id and the authenticator's answer
//! (`PublicKeyCredential.toJSON()`). Sign-in answers with API tokens, like `/auth/login`;
//! adding a passkey needs a bearer token of the person and their current password.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use super::bearer::ApiUser;
use super::json::ApiJson;
use crate::http::layers::ClientIp;
use crate::identity::passkeys::registration::PasskeyName;
use crate::identity::passkeys::{CeremonyId, PasskeyError};
use crate::identity::surface::Surface;
use crate::secret::Secret;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBegin {
    current_password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterFinish {
    ceremony: String,
    name: String,
    credential: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFinish {
    ceremony: String,
    credential: serde_json::Value,
}

/// A refused ceremony as problem details (never a 500 for the caller's mistake).
fn problem(e: PasskeyError) -> ApiError {
    match e {
        PasskeyError::Internal(err) => err.into(),
        PasskeyError::TooManyFromAddress { retry_after_secs } => {
            ApiError::too_many(retry_after_secs, "Too many failed sign-ins from this address.")
        }
        PasskeyError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "passkeys_busy", e.to_string()),
        // Not a fault of the server: this deployment has no passkeys (its issuer is an IP).
        PasskeyError::Unavailable => ApiError::new(StatusCode::FORBIDDEN, "passkeys_unavailable", e.to_string()),
        PasskeyError::NoCeremony | PasskeyError::Expired => {
            ApiError::new(StatusCode::BAD_REQUEST, "ceremony_not_open", e.to_string())
        }
        PasskeyError::Rejected(_) => ApiError::new(StatusCode::UNAUTHORIZED, "passkey_rejected", e.to_string()),
        other => ApiError::new(StatusCode::UNAUTHORIZED, "passkey_refused", other.to_string()),
    }
}

/// POST /auth/passkey/register/begin
pub async fn register_begin(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RegisterBegin>,
) -> Result<Response, ApiError> {
    if !state.accounts.confirm_password(&caller.user, &Secret::new(body.current_password)).await? {
        return Err(ApiError::field("current_password", "The current password is not correct."));
    }
    let started = state.accounts.begin_passkey_registration(&caller.user).await.map_err(problem)?;
    Ok(Json(json!({ "ceremony": started.ceremony.as_str(), "options": started.options })).into_response())
}

/// POST /auth/passkey/register/finish
pub async fn register_finish(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> Result<Response, ApiError> {
    let name = PasskeyName::parse(&body.name).map_err(|m| ApiError::field("name", m))?;
    let ceremony = CeremonyId::from_kept(body.ceremony);
    let stored = state
        .accounts
        .finish_passkey_registration(&caller.user, &ceremony, &name, &body.credential)
        .await
        .map_err(problem)?;
    let answer = json!({ "id": stored.id, "name": stored.name, "created_at": stored.created_at });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// POST /auth/passkey/login/begin
pub async fn login_begin(State(state): State<AppState>) -> Result<Response, ApiError> {
    let started = state.accounts.begin_passkey_sign_in().await.map_err(problem)?;
    Ok(Json(json!({ "ceremony": started.ceremony.as_str(), "options": started.options })).into_response())
}

/// POST /auth/passkey/login/finish: API tokens (with `amr`), and a known-device token.
pub async fn login_finish(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiJson(body): ApiJson<LoginFinish>,
) -> Result<Response, ApiError> {
    let ceremony = CeremonyId::from_kept(body.ceremony);
    let signed_in =
        state.accounts.finish_passkey_sign_in(&ceremony, &body.credential, ip, Surface::Api).await.map_err(problem)?;
    let tokens = state.provider.issue_api_tokens(&signed_in.user, &signed_in.amr, None).await?;
    let mut answer = serde_json::to_value(tokens).map_err(anyhow::Error::from)?;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("device_token".into(), json!(signed_in.new_device_token.expose()));
    }
    Ok(Json(answer).into_response())
}
