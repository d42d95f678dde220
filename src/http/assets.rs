//! The stylesheet and the passkey script, compiled into the binary so one file is the whole server.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub const STYLESHEET: &str = "/static/style.css";
/// The passkey ceremonies' script (the only JavaScript; pages that load it widen their CSP
/// with `csp::with_scripts`).
pub const PASSKEYS_SCRIPT: &str = "/static/passkeys.js";

pub fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET, get(stylesheet)).route(PASSKEYS_SCRIPT, get(passkeys_script))
}

async fn passkeys_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/passkeys.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/style.css"),
    )
}
