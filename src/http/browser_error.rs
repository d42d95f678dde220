//! The browser surfaces' error type (hosted pages, OAuth browser endpoints, the panic and
//! not-found fallbacks): every failure becomes a friendly page with the request id, never a
//! stack trace. Internal errors are logged once, here, with their whole chain.

use crate::i18n::tr;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::login_redirect::login_url;
use super::render::{ErrorPage, render};
use super::request_id::current_request_id;

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("login required")]
    LoginRequired { next: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<tower_sessions::session::Error> for BrowserError {
    fn from(err: tower_sessions::session::Error) -> Self {
        Self::Internal(anyhow::Error::new(err).context("session store"))
    }
}

impl BrowserError {
    /// The status and the message keys of the page's title and text (a `BadRequest` carries
    /// a key of its own).
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::NotFound => (StatusCode::NOT_FOUND, "error-not-found-title", "error-not-found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "error-method-title", "error-method"),
            Self::Csrf => (StatusCode::FORBIDDEN, "error-csrf-title", "error-csrf"),
            Self::LoginRequired { .. } => (StatusCode::SEE_OTHER, "nav-sign-in", "error-login-required"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "error-too-large-title", "error-too-large"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "error-media-type-title", "error-media-type")
            }
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "error-bad-request-title", message),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error-internal-title", "error-internal"),
        }
    }
}

impl IntoResponse for BrowserError {
    fn into_response(self) -> Response {
        match &self {
            Self::LoginRequired { next } => return Redirect::to(&login_url(next)).into_response(),
            Self::Internal(err) if crate::http::outage::is_outage(err) => {
                tracing::warn!(error = %format!("{err:#}"), "database unavailable");
                return unavailable_page();
            }
            Self::Internal(err) => tracing::error!(error = %format!("{err:#}"), "request failed"),
            other => tracing::debug!(error = %other, "request refused"),
        }
        let (status, title, message) = self.parts();
        let page = ErrorPage {
            chrome: Default::default(),
            title: tr(title),
            message: tr(message),
            request_id: current_request_id(),
        };
        render(status, &page)
    }
}

/// 503 with `Retry-After`: the database (or the session store on it) is unreachable.
pub fn unavailable_page() -> Response {
    let page = ErrorPage {
        chrome: Default::default(),
        title: tr("error-unavailable-title"),
        message: tr("error-unavailable"),
        request_id: current_request_id(),
    };
    let mut res = render(StatusCode::SERVICE_UNAVAILABLE, &page);
    res.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
    res
}

/// tower-sessions answers a failed session save with a bare 500 (no body, no type) that no
/// handler of ours produces: that is the session store failing, a storage outage, so it
/// becomes a 503 page like any other.
pub async fn session_store_failures(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let res = next.run(req).await;
    if res.status() == StatusCode::INTERNAL_SERVER_ERROR && !res.headers().contains_key(header::CONTENT_TYPE) {
        tracing::warn!("the session store failed");
        return unavailable_page();
    }
    res
}
