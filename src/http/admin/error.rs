//! The console's error adapter: every failure a friendly page. Who may not use the console
//! gets a 403 page on every console URL; an administrator whose second factor is not recent
//! is sent to the step-up page; everything else (login redirect, CSRF, internal errors) is
//! answered as on the hosted pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::paths;
use crate::http::browser_error::BrowserError;
use crate::http::render::{Chrome, ErrorPage, render};
use crate::http::request_id::current_request_id;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Signed in, but not an administrator.
    #[error("administrators only")]
    Forbidden { chrome: Chrome },
    /// An administrator without a recent second factor: to the step-up page, then back to `next`.
    #[error("a recent second factor is required")]
    StepUp { next: String },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

impl From<anyhow::Error> for ConsoleError {
    fn from(e: anyhow::Error) -> Self {
        Self::Browser(BrowserError::Internal(e))
    }
}

impl From<tower_sessions::session::Error> for ConsoleError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::Browser(e.into())
    }
}

/// The step-up page, returning to `next` afterwards.
pub fn step_up_url(next: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
    format!("{}?{query}", paths::STEP_UP)
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            Self::Browser(e) => e.into_response(),
            Self::StepUp { next } => Redirect::to(&step_up_url(&next)).into_response(),
            Self::Forbidden { chrome } => {
                tracing::info!("admin console refused: not an administrator");
                let page = ErrorPage {
                    chrome,
                    title: crate::i18n::tr("error-admins-only-title"),
                    message: crate::i18n::tr("error-admins-only"),
                    request_id: current_request_id(),
                };
                render(StatusCode::FORBIDDEN, &page)
            }
            Self::NotFound => {
                let page = ErrorPage {
                    chrome: Chrome::default(),
                    title: crate::i18n::tr("error-not-found-title"),
                    message: crate::i18n::tr("error-console-not-found"),
                    request_id: current_request_id(),
                };
                render(StatusCode::NOT_FOUND, &page)
            }
        }
    }
}
