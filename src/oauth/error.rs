//! RFC error codes, split by how they reach the client: shown on a page (before the client
//! and its redirect URI are verified), sent back on the redirect (RFC 6749 §4.1.2.1, OIDC
//! Core §3.1.2.6), or answered by the token-side endpoints (RFC 6749 §5.2). Each carries a
//! public description; server errors say nothing more than `server_error`.

/// Errors shown to the user, never redirected: we cannot trust where to send them.
#[derive(Debug, thiserror::Error)]
pub enum UnredirectableError {
    #[error("unknown or missing client_id")]
    UnknownClient,
    #[error("missing or unregistered redirect_uri")]
    BadRedirectUri,
    #[error("{0}")]
    InvalidRequest(&'static str),
}

/// Errors returned to the client on its redirect URI, with `state` and `iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    InvalidRequest(&'static str),
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope(&'static str),
    ServerError,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// A second factor is required and the user has none (OpenID Connect errata).
    UnmetAuthenticationRequirements,
}

impl RedirectError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::ServerError => "server_error",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(d) | Self::InvalidScope(d) => d,
            Self::UnauthorizedClient => "the client may not use this flow",
            Self::AccessDenied => "the user denied the request",
            Self::UnsupportedResponseType => "only response_type=code is supported",
            Self::ServerError => "the server could not complete the request",
            Self::LoginRequired => "the user must sign in",
            Self::ConsentRequired => "the user must consent",
            Self::RequestNotSupported => "request objects are not supported",
            Self::RequestUriNotSupported => "request_uri is not supported",
            Self::UnmetAuthenticationRequirements => "two-factor authentication is required and not set up",
        }
    }
}

/// Errors of the token, revocation, introspection and userinfo side.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client")]
    UnauthorizedClient,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// RFC 8628 §3.5: the person has not answered yet; poll again.
    #[error("authorization_pending")]
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too soon; the interval grew by 5 seconds.
    #[error("slow_down")]
    SlowDown,
    /// RFC 8628 §3.5: the person denied the request.
    #[error("access_denied")]
    AccessDenied,
    /// RFC 8628 §3.5: the device code expired; start again.
    #[error("expired_token")]
    ExpiredToken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::Internal(_) => "server_error",
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(d) | Self::InvalidGrant(d) | Self::InvalidScope(d) => d,
            Self::InvalidClient => "client authentication failed",
            Self::UnauthorizedClient => "the client may not use this grant type",
            Self::UnsupportedGrantType => "unsupported grant_type",
            Self::UnsupportedTokenType => "unsupported token type",
            Self::AuthorizationPending => "the person has not answered yet",
            Self::SlowDown => "polling too fast: wait 5 seconds longer between requests",
            Self::AccessDenied => "the person denied the request",
            Self::ExpiredToken => "the device code expired",
            Self::Internal(_) => "the server could not complete the request",
        }
    }
}

/// Why a bearer token was refused at a resource endpoint (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("no bearer token")]
    Missing,
    /// RFC 6750 §3.1: more than one way of sending the token.
    #[error("invalid_request")]
    InvalidRequest,
    #[error("invalid_token")]
    InvalidToken,
    #[error("insufficient_scope")]
    InsufficientScope,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}
