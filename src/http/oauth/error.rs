//! The token side's one error adapter: RFC 6749 §5.2 JSON bodies with the right status,
//! `WWW-Authenticate` where the RFCs ask for it, `Cache-Control: no-store` on everything, and
//! nothing but `server_error` when the fault is ours.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::error::{BearerError, TokenError};

pub struct OAuthError(pub TokenError);

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        Self(e)
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        Self(TokenError::Internal(e))
    }
}

pub fn no_store(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// The database is unreachable: 503, `Retry-After`, and nothing that looks like success.
pub fn unavailable() -> Response {
    let body =
        json!({ "error": "temporarily_unavailable", "error_description": "the server is temporarily unavailable" });
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    no_store(res)
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let err = self.0;
        if let TokenError::Internal(e) = &err
            && crate::http::outage::is_outage(e)
        {
            tracing::warn!(error = %format!("{e:#}"), "database unavailable");
            return unavailable();
        }
        let status = match &err {
            TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
            TokenError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "token endpoint failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            other => {
                tracing::info!(error = %other, "token request refused");
                StatusCode::BAD_REQUEST
            }
        };
        let body = match &err {
            TokenError::Internal(_) => json!({ "error": "server_error" }),
            e => json!({ "error": e.code(), "error_description": e.description() }),
        };
        let mut res = (status, Json(body)).into_response();
        if matches!(err, TokenError::InvalidClient) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"portcullis\""));
        }
        no_store(res)
    }
}

/// RFC 6750 §3: resource-endpoint errors.
pub struct BearerRefusal(pub BearerError);

impl From<BearerError> for BearerRefusal {
    fn from(e: BearerError) -> Self {
        Self(e)
    }
}

impl IntoResponse for BearerRefusal {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match &self.0 {
            BearerError::Missing => {
                (StatusCode::UNAUTHORIZED, "Bearer realm=\"portcullis\"", json!({ "error": "invalid_request" }))
            }
            BearerError::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "Bearer realm=\"portcullis\", error=\"invalid_request\"",
                json!({ "error": "invalid_request", "error_description": "send the access token one way only" }),
            ),
            BearerError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "Bearer realm=\"portcullis\", error=\"invalid_token\"",
                json!({ "error": "invalid_token", "error_description": "the access token is invalid, expired or revoked" }),
            ),
            BearerError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"openid\"",
                json!({ "error": "insufficient_scope" }),
            ),
            BearerError::Internal(e) if crate::http::outage::is_outage(e) => {
                tracing::warn!(error = %format!("{e:#}"), "database unavailable");
                return unavailable();
            }
            BearerError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "userinfo failed");
                return no_store(
                    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "server_error" }))).into_response(),
                );
            }
        };
        let mut res = (status, Json(body)).into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        no_store(res)
    }
}

pub async fn method_not_allowed() -> Response {
    let body = json!({ "error": "invalid_request", "error_description": "method not allowed" });
    no_store((StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response())
}
