//! HTTP surfaces. Each surface has its own router and error adapter; this module stacks
//! them and adds the layers every response passes through.

/// The admin console: hosted HTML for administrators at `/admin`.
pub mod admin;
/// The first-party JSON API and the admin API.
pub mod api;
/// Static assets compiled into the binary.
mod assets;
/// The browser surfaces' error type: every failure a friendly page.
pub mod browser_error;
/// The pages' Content-Security-Policy and its `form-action` widening.
pub mod csp;
/// Stateless CSRF tokens (signed double-submit cookie): a form stores nothing.
pub mod csrf;
/// Per-field form errors (pages and console).
pub mod field_errors;
/// Strict form and query-string parsing, for every surface.
pub mod form;
/// `/health/live` and `/health/ready`.
mod health;
/// The request's language (negotiated per request) and the language picker.
pub mod language;
/// Security headers, client address, panic guard.
pub mod layers;
/// Request-head limits: 431 and 414 before routing.
pub mod limits;
/// Where a browser that must sign in is sent, with a safe return address.
pub mod login_redirect;
/// `/metrics` and the request metrics middleware.
pub mod metrics;
/// The OAuth 2.0 / OpenID Connect endpoints.
pub mod oauth;
/// Which failures are a temporary outage (503 with `Retry-After`) rather than a fault.
pub mod outage;
/// Hosted HTML pages: session cookie + CSRF; errors render a page.
pub mod pages;
/// The language picker's per-request inputs (CSRF token, return path).
pub mod picker;
/// Rendering a page, and what every browser surface's pages share.
pub mod render;
/// A fresh id per request: the `X-Request-Id` header, the trace span, the error pages.
pub mod request_id;
/// The browser session: its cookie layer, the signed-in user, CSRF, login and logout.
pub mod session;
/// tower-sessions' store on the `sessions` repository.
mod session_store;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.http.request_timeout_secs);
    let body_limit = state.settings.http.form_body_limit_bytes;
    let browser = pages::router()
        .merge(admin::router())
        .merge(oauth::browser_router())
        .route(language::PATH, axum::routing::post(language::choose))
        .layer(middleware::from_fn_with_state(state.clone(), language::negotiate_browser))
        .layer(session::session_layer(&state))
        .layer(middleware::from_fn(browser_error::session_store_failures));
    let mut app = Router::new()
        .merge(browser)
        .merge(oauth::protocol_router())
        .merge(health::router())
        .route(metrics::PATH, axum::routing::get(metrics::render))
        .merge(assets::router())
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(api::router(state.clone()), api::negotiate))
        .layer(middleware::from_fn_with_state(state.clone(), language::negotiate_plain));
    // Counting costs a few allocations per request (labels): only when someone reads them.
    if state.settings.http.metrics_enabled {
        app = app.layer(middleware::from_fn(metrics::track));
    }
    app.layer(
        ServiceBuilder::new()
            .layer(CatchPanicLayer::custom(layers::panic_response))
            .layer(middleware::from_fn_with_state(state.clone(), render::brand_scope))
            .layer(middleware::from_fn(request_id::request_id))
            .layer(TraceLayer::new_for_http().make_span_with(request_id::make_span))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
            .layer(middleware::from_fn_with_state(
                layers::Hsts::from_settings(&state.settings),
                layers::security_headers,
            ))
            .layer(middleware::from_fn_with_state(
                limits::HeadLimits::from_settings(&state.settings.http),
                limits::uri_limit,
            ))
            .layer(middleware::from_fn_with_state(state.clone(), layers::client_ip))
            .layer(DefaultBodyLimit::max(body_limit)),
    )
    .with_state(state)
}
