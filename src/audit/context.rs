//! Where a request came from, for the events it causes: the client IP (after the
//! trusted-proxy rule), user agent and request id. The HTTP edge sets it once per request
//! (a task-local around the handler, like the request id); domain code that records an event
//! picks it up without taking any HTTP type. Outside a request (CLI, housekeeping) it is empty.

use std::net::IpAddr;

/// The longest user agent kept with an event.
const MAX_USER_AGENT: usize = 256;

/// The request an event happened in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestMeta {
    pub fn new(ip: IpAddr, user_agent: Option<&str>, request_id: Option<String>) -> Self {
        let user_agent = user_agent.map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_string()
        });
        Self { ip: Some(ip), user_agent, request_id: request_id.filter(|id| !id.is_empty()) }
    }
}

tokio::task_local! {
    static CURRENT: RequestMeta;
}

/// Runs `fut` with `meta` as the current request.
pub async fn scope<F: Future>(meta: RequestMeta, fut: F) -> F::Output {
    CURRENT.scope(meta, fut).await
}

/// The current request, or an empty one outside a request.
pub fn current() -> RequestMeta {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_pick_up_the_request_they_happen_in_and_nothing_outside_one() {
        assert_eq!(current(), RequestMeta::default());
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let meta = RequestMeta::new(ip, Some(&"é".repeat(200)), Some("req-1".into()));
        assert!(meta.user_agent.as_ref().unwrap().len() <= MAX_USER_AGENT);
        let seen = scope(meta.clone(), async { current() }).await;
        assert_eq!(seen, meta);
    }
}
