//! The hosted pages: register, login, logout, profile, home. Server-rendered with askama,
//! no JavaScript; every state-changing form carries a CSRF token; errors render a page.

/// Register, login, logout, home.
mod account;
/// The profile's signed-in sessions and connected apps, and their forms.
mod devices;
/// Confirming e-mail addresses.
mod email;
/// The second factor at sign-in, and 2FA settings on the profile.
mod mfa;
/// Passkeys: the profile's list and the passkey sign-in.
mod passkeys;
/// Profile view and edits.
mod profile;
/// Password reset by e-mail link.
mod recovery;
/// Template structs.
mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::http::browser_error::BrowserError;
use crate::state::AppState;

/// Route paths, defined once.
pub mod paths {
    pub use crate::identity::accounts::links::{LOGIN, PROFILE, RESET_PASSWORD, RESET_PASSWORD_CONFIRM, VERIFY_EMAIL};
    pub const HOME: &str = "/";
    pub const REGISTER: &str = "/register";
    pub const RESEND_VERIFICATION: &str = "/profile/verify-email";
    pub const LOGIN_SECOND_FACTOR: &str = "/login/totp";
    pub const MFA_SETUP: &str = "/profile/2fa/setup";
    pub const MFA_CONFIRM: &str = "/profile/2fa/confirm";
    pub const MFA_DISABLE: &str = "/profile/2fa/disable";
    pub const MFA_RECOVERY_CODES: &str = "/profile/2fa/recovery-codes";
    pub const LOGOUT: &str = "/logout";
    pub const PROFILE_PASSWORD: &str = "/profile/password";
    pub const PROFILE_EMAIL: &str = "/profile/email";
    pub const PROFILE_SESSION_END: &str = "/profile/devices/sign-out";
    pub const PROFILE_SESSIONS_END_OTHERS: &str = "/profile/devices/sign-out-others";
    pub const PROFILE_APP_REMOVE: &str = "/profile/devices/remove-app";
    pub const PROFILE_LANGUAGE: &str = "/profile/language";
    pub const PROFILE_PASSKEYS: &str = "/profile/passkeys";
    pub const PASSKEY_REGISTER_BEGIN: &str = "/profile/passkeys/begin";
    pub const PASSKEY_REGISTER_FINISH: &str = "/profile/passkeys/finish";
    pub const PASSKEY_RENAME: &str = "/profile/passkeys/rename";
    pub const PASSKEY_REMOVE: &str = "/profile/passkeys/remove";
    pub const PASSKEY_SIGN_IN_BEGIN: &str = "/login/passkey/begin";
    pub const PASSKEY_SIGN_IN_FINISH: &str = "/login/passkey/finish";
    pub const PASSKEY_SECOND_STEP_BEGIN: &str = "/login/totp/passkey/begin";
    pub const PASSKEY_SECOND_STEP_FINISH: &str = "/login/totp/passkey/finish";
}

/// The hosted pages (without the session layer: see [`crate::http::session::session_layer`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::HOME, get(account::home))
        .route(paths::REGISTER, get(account::register_form).post(account::register))
        .route(paths::LOGIN, get(account::login_form).post(account::login))
        .route(paths::LOGOUT, get(account::logout_form).post(account::logout))
        .route(paths::PROFILE, get(profile::show).post(profile::update_display_name))
        .route(paths::PROFILE_PASSWORD, post(profile::change_password))
        .route(paths::PROFILE_EMAIL, post(profile::change_email))
        .route(paths::PROFILE_SESSION_END, post(devices::end_session))
        .route(paths::PROFILE_SESSIONS_END_OTHERS, post(devices::end_other_sessions))
        .route(paths::PROFILE_APP_REMOVE, post(devices::remove_app))
        .route(paths::PROFILE_LANGUAGE, post(profile::change_language))
        .route(paths::PROFILE_PASSKEYS, get(passkeys::list))
        .route(paths::PASSKEY_REGISTER_BEGIN, post(passkeys::register_begin))
        .route(paths::PASSKEY_REGISTER_FINISH, post(passkeys::register_finish))
        .route(paths::PASSKEY_RENAME, post(passkeys::rename))
        .route(paths::PASSKEY_REMOVE, post(passkeys::remove))
        .route(paths::PASSKEY_SIGN_IN_BEGIN, post(passkeys::sign_in_begin))
        .route(paths::PASSKEY_SIGN_IN_FINISH, post(passkeys::sign_in_finish))
        .route(paths::PASSKEY_SECOND_STEP_BEGIN, post(passkeys::second_step_begin))
        .route(paths::PASSKEY_SECOND_STEP_FINISH, post(passkeys::second_step_finish))
        .route(paths::LOGIN_SECOND_FACTOR, get(mfa::challenge_form).post(mfa::challenge))
        .route(paths::MFA_SETUP, post(mfa::setup))
        .route(paths::MFA_CONFIRM, post(mfa::confirm))
        .route(paths::MFA_DISABLE, post(mfa::disable))
        .route(paths::MFA_RECOVERY_CODES, post(mfa::recovery_codes))
        .route(paths::VERIFY_EMAIL, get(email::confirm))
        .route(paths::RESEND_VERIFICATION, post(email::resend))
        .route(paths::RESET_PASSWORD, get(recovery::request_form).post(recovery::request))
        .route(paths::RESET_PASSWORD_CONFIRM, get(recovery::confirm_form).post(recovery::confirm))
        .method_not_allowed_fallback(method_not_allowed)
}

pub async fn not_found() -> BrowserError {
    BrowserError::NotFound
}

async fn method_not_allowed() -> BrowserError {
    BrowserError::MethodNotAllowed
}
