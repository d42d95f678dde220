//! Who calls the API: a user with one of our access tokens, or (for the admin API) a client
//! whose client-credentials token carries the `admin` scope.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::identity::user::{User, UserId};
use crate::oauth::error::BearerError;
use crate::oauth::tokens::AccessClaims;
use crate::state::AppState;

/// A verified access token (RFC 6750 header), not yet tied to an account.
pub struct Bearer(pub AccessClaims);

pub fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)
            .ok_or_else(|| ApiError::unauthorized("missing_token", "Send an access token as Authorization: Bearer."))?;
        match state.provider.verify_access_token(&token, state.provider.issuer()).await {
            Ok(claims) => Ok(Bearer(claims)),
            Err(BearerError::Internal(e)) => Err(e.into()),
            Err(_) => Err(ApiError::invalid_token()),
        }
    }
}

/// The signed-in user behind an access token, still existing and enabled.
pub struct ApiUser {
    pub user: User,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        let id = UserId::parse(&claims.sub).ok_or_else(ApiError::invalid_token)?;
        let user = state.accounts.find(id).await?.filter(|u| !u.disabled).ok_or_else(ApiError::invalid_token)?;
        if !claims.scope.contains("profile") {
            return Err(ApiError::forbidden("The token lacks the `profile` scope."));
        }
        Ok(ApiUser { user })
    }
}

/// An administrator: a user whose account is an admin right now (checked per request), or a
/// client token with the `admin` scope.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        if claims.gid.is_none() && claims.sub == claims.client_id {
            return if claims.scope.contains("admin") {
                Ok(Admin)
            } else {
                Err(ApiError::forbidden("The token lacks the `admin` scope."))
            };
        }
        let id = UserId::parse(&claims.sub).ok_or_else(ApiError::invalid_token)?;
        match state.accounts.find(id).await? {
            Some(user) if !user.disabled && user.is_admin => Ok(Admin),
            Some(user) if !user.disabled => Err(ApiError::forbidden("Administrators only.")),
            _ => Err(ApiError::invalid_token()),
        }
    }
}
