//! The first-party JSON API: the seeds' account endpoints (on the same paths as the hosted
//! pages, chosen by `Content-Type`/`Accept`/`Authorization`), the seed-2 `/auth/*` names, and
//! the admin APIs (`/users`, `/admin/api/events`). One error shape: problem details.

/// Register, login, logout, reset, profile.
mod account;
/// Bearer authentication: users, and administrators.
mod bearer;
/// A person's sessions and connected apps.
mod devices;
/// Problem details.
mod error;
/// The admin audit-log API (`/admin/api/events`), read-only.
mod events;
/// Strict JSON bodies.
mod json;
/// The OpenAPI 3.1 document.
pub mod openapi;
/// Passkey ceremonies as JSON (`/auth/passkey/*`).
mod passkeys;
/// The admin user API.
mod users;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tower::ServiceExt;

pub use error::ApiError;

use crate::identity::user::User;
use crate::state::AppState;

/// Every JSON route, as (method, path): the router and the OpenAPI document agree on this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/register"),
    ("POST", "/login"),
    ("POST", "/login/mfa"),
    ("POST", "/logout"),
    ("POST", "/reset-password"),
    ("POST", "/reset-password/confirm"),
    ("GET", "/profile"),
    ("PUT", "/profile"),
    ("GET", "/profile/sessions"),
    ("DELETE", "/profile/sessions/{id}"),
    ("POST", "/profile/sessions/end-others"),
    ("GET", "/profile/apps"),
    ("DELETE", "/profile/apps/{client_id}"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/login/mfa"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/passkey/register/begin"),
    ("POST", "/auth/passkey/register/finish"),
    ("POST", "/auth/passkey/login/begin"),
    ("POST", "/auth/passkey/login/finish"),
    ("POST", "/auth/reset_password_request"),
    ("POST", "/auth/reset_password"),
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("PUT", "/users/{id}"),
    ("DELETE", "/users/{id}"),
    ("GET", "/admin/api/events"),
    ("GET", "/openapi.json"),
];

/// Paths the hosted pages share: the API answers them when the request speaks JSON.
const SHARED_PATHS: &[&str] =
    &["/register", "/login", "/logout", "/reset-password", "/reset-password/confirm", "/profile"];

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/register", post(account::register))
        .route("/login", post(account::login))
        .route("/login/mfa", post(account::login_mfa))
        .route("/logout", post(account::logout))
        .route("/reset-password", post(account::reset_request))
        .route("/reset-password/confirm", post(account::reset_confirm))
        .route("/profile", get(account::profile).put(account::update_profile))
        .route("/profile/sessions", get(devices::sessions))
        .route("/profile/sessions/end-others", post(devices::end_other_sessions))
        .route("/profile/sessions/{id}", axum::routing::delete(devices::end_session))
        .route("/profile/apps", get(devices::apps))
        .route("/profile/apps/{client_id}", axum::routing::delete(devices::remove_app))
        .route("/auth/register", post(account::register))
        .route("/auth/login", post(account::auth_login))
        .route("/auth/login/mfa", post(account::auth_login_mfa))
        .route("/auth/logout", post(account::logout))
        .route("/auth/passkey/register/begin", post(passkeys::register_begin))
        .route("/auth/passkey/register/finish", post(passkeys::register_finish))
        .route("/auth/passkey/login/begin", post(passkeys::login_begin))
        .route("/auth/passkey/login/finish", post(passkeys::login_finish))
        .route("/auth/reset_password_request", post(account::reset_request))
        .route("/auth/reset_password", post(account::reset_confirm))
        .route("/users", get(users::list))
        .route("/users/{id}", get(users::get).put(users::update).delete(users::delete))
        .route("/admin/api/events", get(events::list))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed here.",
            )
        })
        .layer(crate::http::session::session_layer(&state))
        .layer(axum::middleware::from_fn(session_store_failures))
        .with_state(state)
}

/// The API's answer to a failed session save (see `browser_error::session_store_failures`,
/// the browser surfaces' twin): 503 problem details.
async fn session_store_failures(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR
        && !res.headers().contains_key(header::CONTENT_TYPE)
    {
        let mut e = ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable.",
        );
        e.retry_after = Some(5);
        return axum::response::IntoResponse::into_response(e);
    }
    res
}

/// Does this request belong to the JSON API?
fn for_api(req: &Request) -> bool {
    let path = req.uri().path();
    if path == "/login/mfa"
        || path == "/openapi.json"
        || path.starts_with("/auth/")
        || path == "/users"
        || path.starts_with("/users/")
        || path.starts_with("/profile/sessions")
        || path.starts_with("/profile/apps")
        || path.starts_with("/admin/api/")
    {
        return true;
    }
    if !SHARED_PATHS.contains(&path) {
        return false;
    }
    let headers = req.headers();
    let accepts_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"));
    let bearer = headers.get(header::AUTHORIZATION).is_some();
    // HEAD is a GET without the body: a browser's (or a monitor's) HEAD of a page is the page's.
    json::is_json(headers)
        || accepts_json
        || bearer
        || !matches!(*req.method(), Method::GET | Method::HEAD | Method::POST)
}

/// Sends JSON requests to the API router; everything else goes on to the pages.
pub async fn negotiate(State(api): State<Router>, req: Request, next: Next) -> Response {
    if for_api(&req) {
        match api.oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    } else {
        next.run(req).await
    }
}

/// A user as the API shows them: never a hash, a secret or a token.
pub async fn public_user(state: &AppState, user: &User) -> Result<Value, ApiError> {
    Ok(json!({
        "id": user.id.to_string(),
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "display_name": user.display_name,
        "is_admin": user.is_admin,
        "disabled": user.disabled,
        "mfa_enabled": state.accounts.mfa_enabled(user.id).await?,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "locale": user.locale.map(|l| l.tag()),
    }))
}
