//! The hosted pages: register, login, logout, profile, home. Server-rendered with askama,
//! no JavaScript; every state-changing form carries a CSRF token; errors render a page.

/// Register, login, logout, home.
mod account;
/// The page surface's one error type and its `IntoResponse`.
mod error;
/// Strict `application/x-www-form-urlencoded` parsing.
mod form;
/// Profile view and edits.
mod profile;
/// The browser session: current user, CSRF token, login and logout.
mod session;
/// Template structs.
mod views;

use axum::Router;
use axum::routing::{get, post};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use error::PageError;

use crate::state::AppState;

/// Route paths, defined once.
pub mod paths {
    pub const HOME: &str = "/";
    pub const REGISTER: &str = "/register";
    pub const LOGIN: &str = "/login";
    pub const LOGOUT: &str = "/logout";
    pub const PROFILE: &str = "/profile";
    pub const PROFILE_PASSWORD: &str = "/profile/password";
    pub const PROFILE_EMAIL: &str = "/profile/email";
}

/// Cookie names; `__Host-` (which requires Secure, Path=/ and no Domain) under https.
pub fn cookie_name(secure: bool, base: &'static str) -> String {
    if secure { format!("__Host-{base}") } else { base.to_string() }
}

pub fn router(state: AppState) -> Router<AppState> {
    let secure = state.settings.secure_cookies();
    let sessions = SessionManagerLayer::new(state.sessions.clone())
        .with_name(cookie_name(secure, "portcullis_session"))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        // A browser-session cookie; the server enforces idle and absolute timeouts.
        .with_expiry(Expiry::OnSessionEnd)
        .with_always_save(true);
    Router::new()
        .route(paths::HOME, get(account::home))
        .route(paths::REGISTER, get(account::register_form).post(account::register))
        .route(paths::LOGIN, get(account::login_form).post(account::login))
        .route(paths::LOGOUT, get(account::logout_form).post(account::logout))
        .route(paths::PROFILE, get(profile::show).post(profile::update_display_name))
        .route(paths::PROFILE_PASSWORD, post(profile::change_password))
        .route(paths::PROFILE_EMAIL, post(profile::change_email))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(sessions)
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

async fn method_not_allowed() -> PageError {
    PageError::MethodNotAllowed
}
