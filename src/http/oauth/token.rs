//! `/token` (RFC 6749 §3.2), `/revoke` (RFC 7009), `/introspect` (RFC 7662).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth::{TokenForm, client_credentials};
use super::error::{OAuthError, no_store};
use crate::oauth::error::TokenError;
use crate::oauth::grant::TokenParams;
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, form: TokenForm) -> Result<Response, OAuthError> {
    let provider = &state.provider;
    let creds = client_credentials(&headers, &form)?;
    let grant_type = form.get("grant_type")?.ok_or(TokenError::InvalidRequest("grant_type is required"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token" | "client_credentials") {
        return Err(TokenError::UnsupportedGrantType.into());
    }
    let client = provider.authenticate_client(creds).await?;
    let response = match grant_type {
        "authorization_code" => provider.exchange_code(&client, &form).await?,
        "refresh_token" => provider.refresh(&client, &form).await?,
        _ => provider.client_credentials(&client, &form).await?,
    };
    metrics::counter!(crate::telemetry::metrics::names::TOKENS_ISSUED, "grant" => grant_type.to_string()).increment(1);
    Ok(no_store(Json(response).into_response()))
}

/// RFC 7009 and RFC 7662 both start with an authenticated client and a `token`.
async fn client_and_token<'f>(
    state: &AppState,
    headers: &HeaderMap,
    form: &'f TokenForm,
) -> Result<(crate::oauth::client::Client, &'f str), OAuthError> {
    let client = state.provider.authenticate_client(client_credentials(headers, form)?).await?;
    let token = form.get("token")?.ok_or(TokenError::InvalidRequest("token is required"))?;
    Ok((client, token))
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: TokenForm,
) -> Result<Response, OAuthError> {
    let (client, token) = client_and_token(&state, &headers, &form).await?;
    state.provider.revoke(&client, token, form.get("token_type_hint")?).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: TokenForm,
) -> Result<Response, OAuthError> {
    let (client, token) = client_and_token(&state, &headers, &form).await?;
    let answer = state.provider.introspect(&client, token).await?;
    Ok(no_store(Json(answer).into_response()))
}
