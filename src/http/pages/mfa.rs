//! The second factor at sign-in (`/login/totp`) and the 2FA settings on the profile (each
//! change to them needs the password and, with 2FA on, a current code or a recovery code).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::account::{for_next, login_page, set_device_cookie};
use super::paths;
use super::profile::profile_with_field_error;
use super::views::{FieldErrors, LoginPage, RecoveryCodesPage, SecondFactorPage, TotpSetupPage};
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::render::render;
use crate::http::render::{Chrome, MessagePage, chrome};
use crate::http::session::{BrowserSession, CSRF_FIELD};
use crate::i18n::{tr, tr_args};
use crate::identity::mfa::{Enrolment, MfaError, SecondFactor, StepUpError};
use crate::identity::second_factor::ChallengeError;
use crate::identity::surface::Surface;
use crate::identity::user::User;
use crate::secret::Secret;
use crate::state::AppState;

const CODE_FAILED: &str =
    "That code is not valid. Enter the current code from your authenticator app, or one of your recovery codes.";
const CODE_REQUIRED: &str = "Two-factor authentication is on: enter the current code from your authenticator app, \
     or one of your recovery codes, as well as your password.";

pub async fn challenge_form(State(state): State<AppState>, session: BrowserSession) -> Result<Response, BrowserError> {
    let Some(pending) = session.pending_second_factor().await? else {
        return Ok(Redirect::to(paths::LOGIN).into_response());
    };
    let page = SecondFactorPage {
        chrome: Chrome::default(),
        csrf: session.csrf_token().await?,
        errors: FieldErrors::default(),
        passkey: state.accounts.has_passkeys(pending.user_id).await?,
    };
    Ok(crate::http::csp::with_scripts(for_next(&state, &pending.next, render(StatusCode::OK, &page)).await))
}

pub async fn challenge(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let Some(pending) = session.pending_second_factor().await? else {
        return Ok(Redirect::to(paths::LOGIN).into_response());
    };
    let code = form.text("code").unwrap_or_default();
    // The attempt is counted on the server-side challenge (and the account's window) before
    // the code is looked at, so parallel submissions in one session cannot exceed the budget.
    match state.accounts.pass_second_factor_challenge(&pending.challenge, code, Surface::Pages).await {
        Ok((user, _)) if user.id != pending.user_id => {
            session.clear_second_factor().await?;
            Ok(Redirect::to(paths::LOGIN).into_response())
        }
        Err(ChallengeError::AccountDisabled) => {
            session.clear_second_factor().await?;
            Ok(Redirect::to(paths::LOGIN).into_response())
        }
        Ok((user, factor)) => {
            let remember_device = session.take_remember_device().await?;
            session.log_in(&user, &["pwd", "otp"]).await?;
            session.signed_in_for(&pending.next).await?;
            let mut res = match factor {
                SecondFactor::Totp => Redirect::to(&pending.next).into_response(),
                SecondFactor::RecoveryCode { remaining } => {
                    let page = MessagePage {
                        chrome: chrome(Some(&user)),
                        title: tr("msg-recovery-used-title"),
                        message: tr_args("msg-recovery-used", &[("count", &remaining)]),
                        link: Some(("/profile", tr("msg-go-to-profile"))),
                    };
                    render(StatusCode::OK, &page)
                }
            };
            if remember_device {
                let device = state.accounts.remember_device(user.id).await?;
                set_device_cookie(&state, res.headers_mut(), &device);
            }
            Ok(res)
        }
        Err(ChallengeError::InvalidCode { attempts_left }) if attempts_left > 0 => {
            let mut errors = FieldErrors::default();
            errors.add("code", CODE_FAILED);
            let passkey = state.accounts.has_passkeys(pending.user_id).await?;
            let page =
                SecondFactorPage { chrome: Chrome::default(), csrf: session.csrf_token().await?, errors, passkey };
            Ok(crate::http::csp::with_scripts(
                for_next(&state, &pending.next, render(StatusCode::UNAUTHORIZED, &page)).await,
            ))
        }
        Err(ChallengeError::InvalidCode { .. } | ChallengeError::Over) => {
            session.clear_second_factor().await?;
            let page = LoginPage {
                csrf: session.csrf_token().await?,
                next: pending.next,
                form_error: Some("Too many wrong codes. Sign in again.".into()),
                ..Default::default()
            };
            Ok(login_page(&state, StatusCode::UNAUTHORIZED, &page).await)
        }
        Err(ChallengeError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

fn setup_page(chrome: Chrome, csrf: String, enrolment: &Enrolment, errors: FieldErrors) -> Response {
    let page = TotpSetupPage {
        chrome,
        csrf,
        qr_svg: enrolment.qr_svg.clone(),
        secret: enrolment.secret_base32.expose().to_string(),
        otpauth_uri: enrolment.otpauth_uri.expose().to_string(),
        errors,
    };
    render(if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST }, &page)
}

/// The fields of one of the profile's password-gated 2FA forms (setting up an authenticator,
/// turning 2FA off, new recovery codes): the current password and, with 2FA on, a code.
#[derive(Clone, Copy)]
struct GatedFields {
    password: &'static str,
    code: &'static str,
}

const SETUP_FIELDS: GatedFields = GatedFields { password: "mfa_current_password", code: "mfa_code" };
const DISABLE_FIELDS: GatedFields = GatedFields { password: "disable_current_password", code: "disable_code" };
const CODES_FIELDS: GatedFields = GatedFields { password: "codes_current_password", code: "codes_code" };

/// What a password-gated 2FA form brings: the signed-in user (the CSRF token checked), the
/// current password and the code.
async fn password_gated<'f>(
    session: &BrowserSession,
    form: &'f FormData,
    fields: GatedFields,
) -> Result<(User, Secret, &'f str), BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, form).await?;
    let current = Secret::new(form.text(fields.password).unwrap_or_default());
    Ok((user, current, form.text(fields.code).unwrap_or_default()))
}

/// The profile again, the reason beside the field it concerns.
async fn step_up_refused(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
    error: StepUpError,
    fields: GatedFields,
) -> Result<Response, BrowserError> {
    let (field, message) = match error {
        StepUpError::Internal(e) => return Err(BrowserError::Internal(e)),
        StepUpError::NotEnabled => return Ok(Redirect::to(paths::PROFILE).into_response()),
        StepUpError::WrongCurrentPassword => (fields.password, "The current password is not correct."),
        StepUpError::CodeRequired => (fields.code, CODE_REQUIRED),
        StepUpError::InvalidCode => (fields.code, CODE_FAILED),
    };
    profile_with_field_error(state, session, user, field, message).await
}

/// POST /profile/2fa/setup: after the current password, a new secret to scan.
pub async fn setup(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let (user, current, code) = password_gated(&session, &form, SETUP_FIELDS).await?;
    match state.accounts.start_mfa_enrolment(&user, &current, code).await {
        Ok(enrolment) => {
            Ok(setup_page(chrome(Some(&user)), session.csrf_token().await?, &enrolment, FieldErrors::default()))
        }
        Err(e) => step_up_refused(&state, &session, &user, e, SETUP_FIELDS).await,
    }
}

/// POST /profile/2fa/confirm: a code from the app turns 2FA on; the recovery codes are shown once.
pub async fn confirm(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    match state.accounts.confirm_mfa_enrolment(&user, form.text("code").unwrap_or_default()).await {
        Ok(codes) => {
            let page = RecoveryCodesPage { chrome: chrome(Some(&user)), codes, first_time: true };
            Ok(render(StatusCode::OK, &page))
        }
        Err(MfaError::InvalidCode) => match state.accounts.pending_mfa_enrolment(&user).await? {
            Some(enrolment) => {
                let mut errors = FieldErrors::default();
                errors.add("code", tr("field-error-totp-setup-code"));
                Ok(setup_page(chrome(Some(&user)), session.csrf_token().await?, &enrolment, errors))
            }
            None => Ok(Redirect::to(paths::PROFILE).into_response()),
        },
        Err(MfaError::NoEnrolment) => Ok(Redirect::to(paths::PROFILE).into_response()),
        Err(MfaError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

/// POST /profile/2fa/disable: the password and a current code (or a recovery code).
pub async fn disable(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let (user, current, code) = password_gated(&session, &form, DISABLE_FIELDS).await?;
    match state.accounts.disable_mfa(&user, &current, code).await {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=2fa-off", paths::PROFILE)).into_response()),
        Err(MfaError::Internal(e)) => Err(BrowserError::Internal(e)),
        // Either factor wrong: one answer, beside the code field.
        Err(_) => {
            let message = "The password or the code is not correct.";
            profile_with_field_error(&state, &session, &user, DISABLE_FIELDS.code, message).await
        }
    }
}

/// POST /profile/2fa/recovery-codes: a new set, shown once.
pub async fn recovery_codes(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let (user, current, code) = password_gated(&session, &form, CODES_FIELDS).await?;
    match state.accounts.regenerate_recovery_codes(&user, &current, code).await {
        Ok(codes) => {
            Ok(render(StatusCode::OK, &RecoveryCodesPage { chrome: chrome(Some(&user)), codes, first_time: false }))
        }
        Err(e) => step_up_refused(&state, &session, &user, e, CODES_FIELDS).await,
    }
}
