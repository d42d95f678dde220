//! Confirming e-mail addresses: the link from the mail, and "send me a new link".

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::paths;
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::render::render;
use crate::http::render::{MessagePage, chrome};
use crate::http::session::BrowserSession;
use crate::i18n::tr;
use crate::identity::profile::{ConfirmError, Confirmed, ResendError};
use crate::state::AppState;

/// GET /verify-email?token=…: the token is unguessable and single use, so following the
/// link is the confirmation (mail scanners that fetch it can only confirm the address).
pub async fn confirm(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    let query = FormData::from_query(uri.query());
    let token = query.text("token").unwrap_or_default();
    let user = session.user().await?;
    let (status, title, message) = match state.accounts.confirm_email(token).await {
        Ok(Confirmed::Address) => (StatusCode::OK, tr("msg-address-confirmed-title"), tr("msg-address-confirmed")),
        Ok(Confirmed::NewAddress) => (StatusCode::OK, tr("msg-address-changed-title"), tr("msg-address-changed")),
        Err(ConfirmError::InvalidLink) => {
            (StatusCode::BAD_REQUEST, tr("msg-link-invalid-title"), tr("msg-email-link-invalid"))
        }
        Err(ConfirmError::AddressInUse) => {
            (StatusCode::CONFLICT, tr("msg-address-in-use-title"), tr("msg-address-in-use"))
        }
        Err(ConfirmError::Internal(e)) => return Err(BrowserError::Internal(e)),
    };
    let link =
        if user.is_some() { (paths::PROFILE, tr("msg-go-to-profile")) } else { (paths::LOGIN, tr("nav-sign-in")) };
    let page = MessagePage { chrome: chrome(user.as_ref()), title, message, link: Some(link) };
    Ok(render(status, &page))
}

/// POST /profile/verify-email: a new confirmation link for the account's address.
pub async fn resend(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let code = match state.accounts.resend_verification(&user).await {
        Ok(()) => "verification-sent",
        Err(ResendError::TooMany) => "verification-throttled",
        Err(ResendError::Internal(e)) => return Err(BrowserError::Internal(e)),
    };
    Ok(Redirect::to(&format!("{}?done={code}", paths::PROFILE)).into_response())
}
