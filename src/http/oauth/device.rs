//! `POST /device/authorize` (RFC 8628 §3.1–3.2): a device's client authenticates as at the
//! token endpoint and gets a device code, a user code and where to send the person. Errors
//! are the token endpoint's (§3.2: `invalid_client`, `unauthorized_client`, `invalid_scope` …).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::client_auth::{TokenForm, client_credentials};
use super::error::{OAuthError, no_store};
use super::paths;
use crate::oauth::error::TokenError;
use crate::oauth::scope::Scope;
use crate::state::AppState;

pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: TokenForm,
) -> Result<Response, OAuthError> {
    let provider = &state.provider;
    let client = provider.authenticate_client(client_credentials(&headers, &form)?).await?;
    let scope = form.param("scope")?.map(Scope::parse).transpose().map_err(TokenError::InvalidScope)?;
    let verification_uri = format!("{}{}", provider.issuer(), paths::DEVICE);
    let answer = provider.start_device_authorization(&client, scope, &verification_uri).await?;
    Ok(no_store(Json(answer).into_response()))
}
