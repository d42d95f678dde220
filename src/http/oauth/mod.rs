//! The OAuth 2.0 / OpenID Connect endpoints. The token side (token, userinfo, revocation,
//! introspection, discovery, JWKS) is JSON and cookie-free; the browser side (authorize,
//! consent, end-session) runs under the session layer with the hosted pages.

/// `/authorize` and the consent step.
mod authorize;
/// Client authentication and strict form parameters on the token side.
mod client_auth;
/// `/device/authorize` (RFC 8628 §3.1).
mod device;
/// The `/device` pages: a person enters a user code and answers (RFC 8628 §3.3).
mod device_page;
/// Discovery documents and the JWKS.
mod discovery;
/// RP-initiated logout.
mod end_session;
/// The JSON error adapter of this surface.
mod error;
/// `/token`, `/revoke`, `/introspect`.
mod token;
/// `/userinfo`.
mod userinfo;
/// Template structs of the consent and logout-confirmation pages.
mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use authorize::redirect_uri_after;

/// Route paths, defined once: the routers and the discovery document read them here.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
    pub const JWKS: &str = "/jwks.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const CONSENT: &str = "/authorize/consent";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const REVOKE: &str = "/revoke";
    pub const INTROSPECT: &str = "/introspect";
    pub const END_SESSION: &str = "/end-session";
    pub const END_SESSION_CONFIRM: &str = "/end-session/confirm";
    /// RFC 8628 §3.1: the device authorization endpoint.
    pub const DEVICE_AUTHORIZATION: &str = "/device/authorize";
    /// RFC 8628 §3.3: the verification URI, where a person enters the user code.
    pub const DEVICE: &str = "/device";
    pub const DEVICE_DECISION: &str = "/device/decision";
}

/// The discovery document for `issuer`, serialized (built once at startup).
pub fn discovery_document(issuer: &str) -> String {
    discovery::metadata(issuer).to_string()
}

/// JSON endpoints: no session, no cookies.
pub fn protocol_router() -> Router<AppState> {
    Router::new()
        .route(paths::DISCOVERY, get(discovery::openid_configuration))
        .route(paths::AS_METADATA, get(discovery::openid_configuration))
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::TOKEN, post(token::token))
        .route(paths::DEVICE_AUTHORIZATION, post(device::device_authorization))
        .route(paths::REVOKE, post(token::revoke))
        .route(paths::INTROSPECT, post(token::introspect))
        .route(paths::USERINFO, get(userinfo::userinfo).post(userinfo::userinfo))
        .method_not_allowed_fallback(error::method_not_allowed)
}

/// Browser endpoints: merged with the hosted pages under the session layer.
pub fn browser_router() -> Router<AppState> {
    Router::new()
        .route(paths::AUTHORIZE, get(authorize::authorize_get).post(authorize::authorize_post))
        .route(paths::CONSENT, post(authorize::consent))
        .route(paths::END_SESSION, get(end_session::end_session_get).post(end_session::end_session_post))
        .route(paths::END_SESSION_CONFIRM, post(end_session::confirm))
        .route(paths::DEVICE, get(device_page::entry_form).post(device_page::lookup))
        .route(paths::DEVICE_DECISION, post(device_page::decide))
}
