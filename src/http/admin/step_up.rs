//! `/admin/step-up`: an administrator proves a second factor (a TOTP code, or a recovery
//! code) to open the console for [`STEP_UP_SECS`](super::guard::STEP_UP_SECS). The code is
//! checked by `identity::second_factor` under the account's budget, like every other
//! second-factor check. An administrator without a second factor is told to enable one.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ConsoleError;
use super::guard::SignedInAdmin;
use super::paths;
use super::views::StepUpPage;
use crate::http::form::FormData;
use crate::http::login_redirect::safe_next;
use crate::http::render::{chrome, render};
use crate::http::session::CSRF_FIELD;
use crate::identity::mfa::{FactorUse, MfaError};
use crate::state::AppState;

const CODE_FAILED: &str = "That code is not valid. Enter the current code from your authenticator app.";

/// Only console pages are places to go back to.
fn console_next(raw: &str) -> String {
    match safe_next(raw) {
        Some(next) if next == paths::DASHBOARD || next.starts_with("/admin/") || next.starts_with("/admin?") => {
            next.to_string()
        }
        _ => paths::DASHBOARD.to_string(),
    }
}

async fn page(
    state: &AppState,
    who: &SignedInAdmin,
    next: String,
    status: StatusCode,
    error: Option<&'static str>,
) -> Result<Response, ConsoleError> {
    let enrolled = state.accounts.mfa_enabled(who.admin.id).await?;
    let page =
        StepUpPage { chrome: chrome(Some(&who.admin)), csrf: who.session.csrf_token().await?, next, enrolled, error };
    let status = if enrolled { status } else { StatusCode::FORBIDDEN };
    Ok(render(status, &page))
}

pub async fn form(
    State(state): State<AppState>,
    who: SignedInAdmin,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let query = FormData::from_query(uri.query());
    page(&state, &who, console_next(&query.shown("next")), StatusCode::OK, None).await
}

pub async fn submit(
    State(state): State<AppState>,
    who: SignedInAdmin,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let next = console_next(&form.shown("next"));
    if !state.accounts.mfa_enabled(who.admin.id).await? {
        return page(&state, &who, next, StatusCode::FORBIDDEN, None).await;
    }
    match state
        .accounts
        .verify_second_factor(who.admin.id, form.text("code").unwrap_or_default(), FactorUse::StepUp)
        .await
    {
        Ok(_) => {
            who.session.proved_second_factor().await?;
            Ok(Redirect::to(&next).into_response())
        }
        Err(MfaError::Internal(e)) => Err(e.into()),
        Err(_) => page(&state, &who, next, StatusCode::UNAUTHORIZED, Some(CODE_FAILED)).await,
    }
}
