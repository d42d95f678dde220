//! The JSON API's one error shape: RFC 9457 problem details with a machine-readable `code`,
//! per-field `errors`, and the request id. Server faults say only `internal_error`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::request_id::current_request_id;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<(String, String)>,
    pub challenge: Option<&'static str>,
    pub retry_after: Option<i64>,
    internal: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), errors: vec![], challenge: None, retry_after: None, internal: None }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// One or more fields are invalid.
    pub fn fields(errors: Vec<(String, String)>) -> Self {
        let mut e = Self::bad_request("invalid_fields", "Some fields are invalid.");
        e.errors = errors;
        e
    }

    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::fields(vec![(name.to_string(), message.into())])
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, code, detail);
        e.challenge = Some("Bearer realm=\"portcullis\"");
        e
    }

    pub fn invalid_token() -> Self {
        let mut e = Self::unauthorized("invalid_token", "The access token is missing, invalid, expired or revoked.");
        e.challenge = Some("Bearer realm=\"portcullis\", error=\"invalid_token\"");
        e
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::FORBIDDEN, "forbidden", detail);
        e.challenge = Some("Bearer realm=\"portcullis\", error=\"insufficient_scope\"");
        e
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing at this address.")
    }

    pub fn too_many(retry_after: i64, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail);
        e.retry_after = Some(retry_after);
        e
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

/// A browser-session step inside an API handler (the cookie login and logout): an internal
/// error keeps its chain; a refusal (which those steps never produce) is an internal error.
impl From<crate::http::browser_error::BrowserError> for ApiError {
    fn from(e: crate::http::browser_error::BrowserError) -> Self {
        match e {
            crate::http::browser_error::BrowserError::Internal(e) => e.into(),
            other => anyhow::Error::new(other).into(),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if crate::http::outage::is_outage(&e) {
            tracing::warn!(error = %format!("{e:#}"), "database unavailable");
            let mut err = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The service is temporarily unavailable.",
            );
            err.retry_after = Some(5);
            return err;
        }
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The server could not complete the request.",
        );
        err.internal = Some(e);
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(e) = &self.internal {
            tracing::error!(error = %format!("{e:#}"), "API request failed");
        }
        let errors: serde_json::Map<String, serde_json::Value> =
            self.errors.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut body = json!({
            "type": "about:blank",
            "title": self.title(),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
            "request_id": current_request_id(),
        });
        if !errors.is_empty() {
            body["errors"] = serde_json::Value::Object(errors);
        }
        let mut res = (self.status, Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        res
    }
}
