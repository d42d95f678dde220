//! The admin console at `/admin`: hosted HTML for administrators (askama, the hosted pages'
//! look, no JavaScript). Every URL under `/admin` passes the same gate ([`guard`]): signed
//! in (else the login page), an administrator (else a 403 page), and a second factor proven
//! in this browser session within [`guard::STEP_UP_SECS`] (else the step-up page). Every
//! form carries the session's CSRF token. The rules themselves live in the domain
//! (`identity::admin`, `oauth::clients`); handlers only translate forms and pages.

/// Clients: list, create, edit, new secret, delete.
mod clients;
/// The console's error pages.
mod error;
/// Who may use the console, checked on every request.
mod guard;
/// The dashboard, signing keys and the audit log.
mod overview;
/// A user's browser sessions.
mod sessions;
/// The second-factor step-up.
mod step_up;
/// Users: search, view, create, edit, and the actions on an account.
mod users;
/// Template structs.
mod views;

use axum::Router;
use axum::routing::{any, get, post};

pub use error::ConsoleError;

use crate::http::browser_error::BrowserError;
use crate::state::AppState;

/// Route paths, defined once.
pub mod paths {
    pub const DASHBOARD: &str = "/admin";
    pub const STEP_UP: &str = "/admin/step-up";
    pub const USERS: &str = "/admin/users";
    pub const USER_NEW: &str = "/admin/users/new";
    pub const USER: &str = "/admin/users/{id}";
    pub const USER_VERIFY_EMAIL: &str = "/admin/users/{id}/verify-email";
    pub const USER_DISABLE: &str = "/admin/users/{id}/disable";
    pub const USER_ENABLE: &str = "/admin/users/{id}/enable";
    pub const USER_DELETE: &str = "/admin/users/{id}/delete";
    pub const USER_RESET_2FA: &str = "/admin/users/{id}/reset-2fa";
    pub const USER_REVOKE_SESSIONS: &str = "/admin/users/{id}/revoke-sessions";
    pub const USER_SEND_RESET: &str = "/admin/users/{id}/send-reset";
    pub const USER_SESSIONS: &str = "/admin/users/{id}/sessions";
    pub const USER_SESSION_REVOKE: &str = "/admin/users/{id}/sessions/{session}/revoke";
    pub const CLIENTS: &str = "/admin/clients";
    pub const CLIENT_NEW: &str = "/admin/clients/new";
    pub const CLIENT: &str = "/admin/clients/{client_id}";
    pub const CLIENT_ROTATE_SECRET: &str = "/admin/clients/{client_id}/rotate-secret";
    pub const CLIENT_DELETE: &str = "/admin/clients/{client_id}/delete";
    pub const KEYS: &str = "/admin/keys";
    pub const KEYS_ROTATE: &str = "/admin/keys/rotate";
    pub const AUDIT: &str = "/admin/audit";

    /// A path with its `{name}` parameter filled in (ids are URL-safe: UUIDs and client ids
    /// of `[A-Za-z0-9._:-]`; session keys are hex).
    pub fn fill(path: &str, name: &str, value: &str) -> String {
        path.replace(&format!("{{{name}}}"), value)
    }

    pub fn user(id: impl std::fmt::Display) -> String {
        fill(USER, "id", &id.to_string())
    }

    pub fn client(id: &str) -> String {
        fill(CLIENT, "client_id", id)
    }
}

/// Every console route behind the full gate, as (method, path). The step-up page
/// ([`paths::STEP_UP`]) is the one console URL without a recent second factor.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", paths::DASHBOARD),
    ("GET", paths::USERS),
    ("POST", paths::USERS),
    ("GET", paths::USER_NEW),
    ("GET", paths::USER),
    ("POST", paths::USER),
    ("POST", paths::USER_VERIFY_EMAIL),
    ("POST", paths::USER_DISABLE),
    ("POST", paths::USER_ENABLE),
    ("GET", paths::USER_DELETE),
    ("POST", paths::USER_DELETE),
    ("POST", paths::USER_RESET_2FA),
    ("POST", paths::USER_REVOKE_SESSIONS),
    ("POST", paths::USER_SEND_RESET),
    ("GET", paths::USER_SESSIONS),
    ("POST", paths::USER_SESSION_REVOKE),
    ("GET", paths::CLIENTS),
    ("POST", paths::CLIENTS),
    ("GET", paths::CLIENT_NEW),
    ("GET", paths::CLIENT),
    ("POST", paths::CLIENT),
    ("POST", paths::CLIENT_ROTATE_SECRET),
    ("GET", paths::CLIENT_DELETE),
    ("POST", paths::CLIENT_DELETE),
    ("GET", paths::KEYS),
    ("POST", paths::KEYS_ROTATE),
    ("GET", paths::AUDIT),
];

/// The console (without the session layer: see [`crate::http::session::session_layer`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DASHBOARD, get(overview::dashboard))
        .route(paths::STEP_UP, get(step_up::form).post(step_up::submit))
        .route(paths::USERS, get(users::list).post(users::create))
        .route(paths::USER_NEW, get(users::new_form))
        .route(paths::USER, get(users::show).post(users::update))
        .route(paths::USER_VERIFY_EMAIL, post(users::verify_email))
        .route(paths::USER_DISABLE, post(users::disable))
        .route(paths::USER_ENABLE, post(users::enable))
        .route(paths::USER_DELETE, get(users::delete_confirm).post(users::delete))
        .route(paths::USER_RESET_2FA, post(users::reset_second_factor))
        .route(paths::USER_REVOKE_SESSIONS, post(users::revoke_sessions))
        .route(paths::USER_SEND_RESET, post(users::send_reset))
        .route(paths::USER_SESSIONS, get(sessions::list))
        .route(paths::USER_SESSION_REVOKE, post(sessions::revoke))
        .route(paths::CLIENTS, get(clients::list).post(clients::create))
        .route(paths::CLIENT_NEW, get(clients::new_form))
        .route(paths::CLIENT, get(clients::show).post(clients::update))
        .route(paths::CLIENT_ROTATE_SECRET, post(clients::rotate_secret))
        .route(paths::CLIENT_DELETE, get(clients::delete_confirm).post(clients::delete))
        .route(paths::KEYS, get(overview::keys))
        .route(paths::KEYS_ROTATE, post(overview::rotate_keys))
        .route(paths::AUDIT, get(overview::audit))
        // Unknown console URLs and wrong methods pass the gate too: a non-admin learns nothing.
        .route("/admin/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Unknown console URLs, once the gate is passed.
async fn not_found(_: guard::AdminSession) -> ConsoleError {
    ConsoleError::NotFound
}

/// A console URL asked with the wrong method, once the gate is passed.
async fn method_not_allowed(_: guard::AdminSession) -> ConsoleError {
    ConsoleError::Browser(BrowserError::MethodNotAllowed)
}
