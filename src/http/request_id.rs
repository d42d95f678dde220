//! The request id: a fresh one for every request (a client-sent one is replaced, never
//! trusted), returned in `X-Request-Id`, recorded on the request's trace span, and readable by
//! the error adapters (pages and problem bodies show it) through `current_request_id`.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request being handled, for error pages and problem bodies.
pub fn current_request_id() -> String {
    CURRENT_REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Gives every request a fresh id (a client-sent one is replaced, never trusted), makes it
/// available to handlers, and returns it in `X-Request-Id`.
pub async fn request_id(mut req: Request, next: Next) -> axum::response::Response {
    let id = next_request_id();
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, value.clone());
        let mut res = CURRENT_REQUEST_ID.scope(id, next.run(req)).await;
        res.headers_mut().insert(REQUEST_ID, value);
        return res;
    }
    next.run(req).await
}

/// A unique, UUID-shaped request id without a system call: a random per-process prefix
/// and a counter (ids correlate logs; they are not secrets and need not be unguessable).
fn next_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap_or_default();
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(prefix, n).to_string()
}

/// The request's trace span, carrying its id, so every log line of a request can be found.
pub fn make_span(req: &Request) -> tracing::Span {
    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}
