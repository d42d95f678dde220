//! "Forgot your password?": request a link, then choose a new password through it.

use axum::extract::{Extension, OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::account::{minutes, with_retry_after};
use super::paths;
use super::views::{FieldErrors, ResetConfirmPage, ResetRequestPage};
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::layers::ClientIp;
use crate::http::render::render;
use crate::http::render::{Chrome, MessagePage};
use crate::http::session::{BrowserSession, CSRF_FIELD};
use crate::i18n::tr;
use crate::identity::email::Email;
use crate::identity::recovery::{ResetError, ResetRequestError};
use crate::identity::surface::Surface;
use crate::oauth::logout::SignOut;
use crate::state::AppState;

pub async fn request_form(session: BrowserSession) -> Result<Response, BrowserError> {
    let page = ResetRequestPage { csrf: session.csrf_token().await?, ..Default::default() };
    Ok(render(StatusCode::OK, &page))
}

/// Always the same answer for a well-formed address, whether or not it has an account.
pub async fn request(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(client_ip)): Extension<ClientIp>,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let parsed = form.text("email").map_err(|p| p.message()).and_then(Email::parse);
    let email = match parsed {
        Ok(email) => email,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("email", message);
            let page = ResetRequestPage {
                csrf: session.csrf_token().await?,
                email: form.shown("email"),
                errors,
                ..Default::default()
            };
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    match state.accounts.request_password_reset(&email, client_ip).await {
        Ok(()) => {
            let page = MessagePage {
                chrome: Chrome::default(),
                title: tr("msg-check-inbox-title"),
                message: tr("msg-check-inbox-reset"),
                link: Some((paths::LOGIN, tr("reset-back"))),
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(ResetRequestError::TooManyFromAddress { retry_after_secs }) => {
            let page = ResetRequestPage {
                csrf: session.csrf_token().await?,
                email: email.to_string(),
                form_error: Some(format!(
                    "Too many reset requests came from your network. Try again in {}.",
                    minutes(retry_after_secs)
                )),
                ..Default::default()
            };
            Ok(with_retry_after(render(StatusCode::TOO_MANY_REQUESTS, &page), retry_after_secs))
        }
        Err(ResetRequestError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

fn invalid_link() -> Response {
    let page = MessagePage {
        chrome: Chrome::default(),
        title: tr("msg-link-invalid-title"),
        message: tr("msg-reset-link-invalid"),
        link: Some((paths::RESET_PASSWORD, tr("msg-ask-new-link"))),
    };
    render(StatusCode::BAD_REQUEST, &page)
}

/// GET /reset-password/confirm?token=…: shows the form; uses nothing up.
pub async fn confirm_form(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    let query = FormData::from_query(uri.query());
    let token = query.text("token").unwrap_or_default().to_string();
    match state.accounts.reset_link_user(&token).await {
        Ok(_) => Ok(render(
            StatusCode::OK,
            &ResetConfirmPage { csrf: session.csrf_token().await?, token, ..Default::default() },
        )),
        Err(ResetError::InvalidLink | ResetError::Policy(_)) => Ok(invalid_link()),
        Err(ResetError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

/// POST /reset-password/confirm: sets the new password; no automatic sign-in.
pub async fn confirm(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let token = form.text("token").unwrap_or_default().to_string();
    let mut errors = FieldErrors::default();
    let new = form.text("new_password").map_err(|p| errors.add("new_password", p.message())).unwrap_or_default();
    let confirm =
        form.text("confirm_password").map_err(|p| errors.add("confirm_password", p.message())).unwrap_or_default();
    if errors.is_empty() && new != confirm {
        errors.add("confirm_password", tr("field-error-passwords-differ"));
    }
    if errors.is_empty() {
        match state.accounts.reset_password(&token, new).await {
            Ok(()) => {
                // Every session of the account ended with the reset; this one may be another's.
                session.log_out(SignOut::new(Surface::Pages)).await?;
                let page = MessagePage {
                    chrome: Chrome::default(),
                    title: tr("msg-password-changed-title"),
                    message: tr("msg-password-changed"),
                    link: Some((paths::LOGIN, tr("nav-sign-in"))),
                };
                return Ok(render(StatusCode::OK, &page));
            }
            Err(ResetError::InvalidLink) => return Ok(invalid_link()),
            Err(ResetError::Policy(problem)) => errors.add("new_password", problem.to_string()),
            Err(ResetError::Internal(e)) => return Err(BrowserError::Internal(e)),
        }
    }
    let page = ResetConfirmPage { csrf: session.csrf_token().await?, token, errors, ..Default::default() };
    Ok(render(StatusCode::BAD_REQUEST, &page))
}
