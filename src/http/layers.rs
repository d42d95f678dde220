//! Layers every response passes through: security headers, the client's address, the panic
//! guard. (The request id has its own module, `request_id`, which the error adapters read.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Response, header};
use axum::middleware::Next;
use axum::response::IntoResponse;

use crate::config::IpNet;
use crate::state::AppState;

/// `Strict-Transport-Security` for every response, when the issuer is https.
#[derive(Debug, Clone)]
pub struct Hsts(pub Option<HeaderValue>);

impl Hsts {
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self(settings.hsts().and_then(|v| HeaderValue::from_str(&v).ok()))
    }
}

/// Security headers on every response; `Cache-Control: no-store` unless a handler chose a
/// cache policy (static assets do); HSTS when the issuer is https.
pub async fn security_headers(State(hsts): State<Hsts>, req: Request, next: Next) -> axum::response::Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if let Some(value) = hsts.0 {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::csp::CSP));
    }
    let fixed = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `X-Forwarded-For`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = req.headers().get_all(HeaderName::from_static("x-forwarded-for"));
    let chain: Vec<&str> = forwarded.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let ip = resolve_client_ip(peer, &chain, &state.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    // The request an audit event happens in (the domain reads it without any HTTP type).
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let meta = crate::audit::RequestMeta::new(ip, user_agent, Some(super::request_id::current_request_id()));
    crate::audit::context::scope(meta, next.run(req)).await
}

pub fn resolve_client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// A panic becomes a bare 500 without details; the panic message goes to the log only.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response<axum::body::Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    super::browser_error::BrowserError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = [IpNet::parse("10.0.0.0/8").unwrap()];
        let peer_proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve_client_ip(stranger, &["1.2.3.4"], &trusted), stranger, "untrusted peer");
        assert_eq!(resolve_client_ip(peer_proxy, &["1.2.3.4"], &trusted), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(
            resolve_client_ip(peer_proxy, &["6.6.6.6", "1.2.3.4", "10.0.0.7"], &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap(),
            "spoofed leftmost entries are ignored"
        );
        assert_eq!(resolve_client_ip(peer_proxy, &[], &trusted), peer_proxy);
        assert_eq!(resolve_client_ip(peer_proxy, &["garbage"], &trusted), peer_proxy);
    }
}
