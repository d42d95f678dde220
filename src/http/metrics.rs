//! `/metrics` (when enabled) and the middleware that counts and times every request by route
//! template (never the raw path, so ids cannot explode the label set) and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::telemetry::metrics::{handle, names};

pub const PATH: &str = "/metrics";

/// A route label: the matched template, or the API's `{id}` pattern, else `unmatched`.
fn route_label(req: &Request) -> String {
    if let Some(matched) = req.extensions().get::<MatchedPath>() {
        return matched.as_str().to_string();
    }
    let path = req.uri().path();
    if path.starts_with("/users/") && path.matches('/').count() == 2 {
        return "/users/{id}".into();
    }
    if crate::http::api::ROUTES.iter().any(|(_, p)| *p == path) {
        return path.to_string();
    }
    "unmatched".into()
}

pub async fn track(req: Request, next: Next) -> Response {
    let route = route_label(&req);
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    res
}

pub async fn render(State(state): State<AppState>) -> Response {
    if !state.settings.http.metrics_enabled {
        return crate::http::browser_error::BrowserError::NotFound.into_response();
    }
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable").into_response();
    };
    let (size, idle) = state.db.pool_stats();
    metrics::gauge!(names::DB_POOL_SIZE).set(size as f64);
    metrics::gauge!(names::DB_POOL_IDLE).set(idle as f64);
    match crate::store::outbox::pending_count(&state.db).await {
        Ok(n) => metrics::gauge!(names::MAIL_OUTBOX_PENDING).set(n as f64),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "counting the outbox"),
    }
    if crate::store::Store::audit_fanout(&state.db).is_some() {
        match crate::store::audit_deliveries::pending_count(&state.db).await {
            Ok(n) => metrics::gauge!(names::AUDIT_WEBHOOKS_PENDING).set(n as f64),
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "counting pending audit webhooks"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}
