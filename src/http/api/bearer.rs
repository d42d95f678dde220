//! Who calls the API: a user with an access token minted for the first-party APIs (the
//! `<issuer>/api` audience, see `oauth::audience`), or (for the admin API) a client allowed the
//! API whose client-credentials token carries the `admin` scope. A relying party's token is
//! refused here (403) even when it is valid elsewhere.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::audit::Actor;
use crate::identity::user::{User, UserId};
use crate::oauth::error::BearerError;
use crate::oauth::scope::ADMIN;
use crate::oauth::tokens::AccessClaims;
use crate::state::AppState;

/// A verified access token (RFC 6750 header) minted for the first-party APIs, not yet tied
/// to an account.
pub struct Bearer(pub AccessClaims);

pub fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The claims of `token` if it is one of ours, live, and minted for the first-party APIs by
/// a client still allowed them: 401 for a token that is not valid at all, 403 for a valid
/// token of another audience.
pub async fn api_claims(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    let claims = match state.provider.verify_any_access_token(token).await {
        Ok(claims) => claims,
        Err(BearerError::Internal(e)) => return Err(e.into()),
        Err(_) => return Err(ApiError::invalid_token()),
    };
    if !state.provider.admits_to_api(&claims).await? {
        let mut e = ApiError::forbidden(
            "This token was not issued for this API: sign in with POST /login, or use a client allowed the API.",
        );
        e.code = "wrong_audience";
        e.challenge = Some("Bearer realm=\"portcullis\", error_description=\"the token is for another audience\"");
        return Err(e);
    }
    Ok(claims)
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)
            .ok_or_else(|| ApiError::unauthorized("missing_token", "Send an access token as Authorization: Bearer."))?;
        Ok(Bearer(api_claims(state, &token).await?))
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
        // Only a user's tokens belong to a grant; a client's own token names no user, whatever
        // its `sub` looks like.
        if claims.gid.is_none() {
            return Err(ApiError::forbidden("A client's own token has no profile."));
        }
        let id = UserId::parse(&claims.sub).ok_or_else(ApiError::invalid_token)?;
        let user = state.accounts.find(id).await?.filter(|u| !u.disabled).ok_or_else(ApiError::invalid_token)?;
        if !claims.scope.contains("profile") {
            return Err(ApiError::forbidden("The token lacks the `profile` scope."));
        }
        Ok(ApiUser { user })
    }
}

/// An administrator: a user whose account is an admin right now (checked per request), or a
/// client token with the `admin` scope; either way through a token minted for the API. It
/// carries who acts, for the audit log.
pub struct Admin(pub Actor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, state).await?;
        if claims.gid.is_none() {
            // Client credentials: the client acts for itself.
            return if claims.sub == claims.client_id && claims.scope.contains(ADMIN) {
                Ok(Admin(Actor::Client(claims.client_id.clone())))
            } else {
                Err(ApiError::forbidden("The token lacks the `admin` scope."))
            };
        }
        let id = UserId::parse(&claims.sub).ok_or_else(ApiError::invalid_token)?;
        match state.accounts.find(id).await? {
            Some(user) if !user.disabled && user.is_admin => Ok(Admin(Actor::Admin(user.id))),
            Some(user) if !user.disabled => Err(ApiError::forbidden("Administrators only.")),
            _ => Err(ApiError::invalid_token()),
        }
    }
}
