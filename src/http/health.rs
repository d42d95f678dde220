//! Liveness (the process answers) and readiness (the database answers).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub const LIVE: &str = "/health/live";
pub const READY: &str = "/health/ready";

pub fn router() -> Router<AppState> {
    Router::new().route(LIVE, get(live)).route(READY, get(ready))
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(err) => {
            tracing::warn!(error = %format!("{err:#}"), "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], Json(json!({ "status": "unavailable" })))
                .into_response()
        }
    }
}
