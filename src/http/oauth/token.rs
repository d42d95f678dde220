//! `/token` (RFC 6749 §3.2), `/revoke` (RFC 7009), `/introspect` (RFC 7662).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth::{TokenForm, client_credentials};
use super::error::{OAuthError, no_store};
use crate::oauth::error::TokenError;
use crate::oauth::grant::request::TokenRequest;
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, form: TokenForm) -> Result<Response, OAuthError> {
    let provider = &state.provider;
    let creds = client_credentials(&headers, &form)?;
    let grant = TokenRequest::grant_type(form.param("grant_type")?)?;
    let client = provider.authenticate_client(creds).await?;
    let request = TokenRequest::parse(&client, grant, |name| form.param(name))?;
    let response = provider.token(&client, request).await?;
    metrics::counter!(crate::telemetry::metrics::names::TOKENS_ISSUED, "grant" => grant.as_str()).increment(1);
    Ok(no_store(Json(response).into_response()))
}

/// RFC 7009 and RFC 7662 both start with an authenticated client and a `token`.
async fn client_and_token<'f>(
    state: &AppState,
    headers: &HeaderMap,
    form: &'f TokenForm,
) -> Result<(crate::oauth::client::Client, &'f str), OAuthError> {
    let client = state.provider.authenticate_client(client_credentials(headers, form)?).await?;
    let token = form.param("token")?.ok_or(TokenError::InvalidRequest("token is required"))?;
    Ok((client, token))
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: TokenForm,
) -> Result<Response, OAuthError> {
    let (client, token) = client_and_token(&state, &headers, &form).await?;
    state.provider.revoke(&client, token, form.param("token_type_hint")?).await?;
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
