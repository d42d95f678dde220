//! The stylesheet, compiled into the binary so one file is the whole server.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub const STYLESHEET: &str = "/static/style.css";

pub fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET, get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/style.css"),
    )
}
