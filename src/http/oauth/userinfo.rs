//! `/userinfo` (OIDC Core §5.3), GET or POST, with the access token in the `Authorization`
//! header or (POST) the `access_token` form field (RFC 6750 §2.1–2.2), never both.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::error::{BearerRefusal, no_store};
use crate::http::form::FormData;
use crate::oauth::error::BearerError;
use crate::state::AppState;

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BearerRefusal> {
    let in_header = bearer(&headers);
    let in_body = if FormData::is_form(&headers) {
        FormData::parse(&body).text("access_token").ok().filter(|t| !t.is_empty()).map(str::to_string)
    } else {
        None
    };
    let token = match (in_header, in_body) {
        (Some(t), None) | (None, Some(t)) => t,
        (Some(_), Some(_)) => return Err(BearerError::InvalidRequest.into()),
        (None, None) => return Err(BearerError::Missing.into()),
    };
    let claims = state.provider.userinfo(&token).await?;
    Ok(no_store(Json(claims).into_response()))
}
