//! Strict JSON bodies: `application/json` only (415), within the size limit (413), well
//! formed and well typed (400), and no fields the request type does not declare: fields a
//! caller must never set (`role`, `is_admin`, `email_verified`, `id`, `totp_*`, …) are named
//! in the error, so mass assignment fails loudly.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Fields that belong to the server, never to a request body.
pub const FORBIDDEN_FIELDS: &[&str] = &[
    "role",
    "roles",
    "is_admin",
    "admin",
    "email_verified",
    "id",
    "disabled",
    "password_hash",
    "created_at",
    "updated_at",
];

pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
}

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
            } else {
                ApiError::bad_request("unreadable_body", "The request body could not be read.")
            }
        })?;
        parse(&body).map(ApiJson)
    }
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::bad_request("invalid_utf8", "The body is not valid UTF-8."));
    }
    serde_json::from_slice::<T>(body).map_err(|e| {
        let message = e.to_string();
        let named = message.split('`').nth(1).unwrap_or_default().to_string();
        if message.starts_with("unknown field") {
            if FORBIDDEN_FIELDS.contains(&named.as_str())
                || named.starts_with("totp")
                || named.starts_with("mfa_secret")
            {
                let mut err = ApiError::field(&named, "This field cannot be set.");
                err.code = "forbidden_field";
                err.detail = format!("The field `{named}` cannot be set by a request.");
                return err;
            }
            let mut err = ApiError::field(&named, "Unknown field.");
            err.code = "unknown_field";
            err.detail = format!("The field `{named}` is not part of this request.");
            return err;
        }
        match e.classify() {
            serde_json::error::Category::Data => {
                ApiError::bad_request("invalid_body", format!("The body does not fit this request: {message}."))
            }
            _ => ApiError::bad_request("malformed_json", "The body is not well-formed JSON."),
        }
    })
}
