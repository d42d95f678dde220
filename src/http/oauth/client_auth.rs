//! Token-side request parsing: the form body (strict, each parameter once) and client
//! authentication by exactly one method: `client_secret_basic`, `client_secret_post`, or
//! `none` for public clients.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::OAuthError;
use crate::http::form::FormData;
use crate::oauth::error::TokenError;
use crate::oauth::provider::ClientCredentials;
use crate::secret::Secret;

/// A strictly parsed `application/x-www-form-urlencoded` body.
pub struct TokenForm(pub FormData);

impl TokenForm {
    /// The single non-empty value of `name` (empty counts as absent).
    pub fn param(&self, name: &str) -> Result<Option<&str>, TokenError> {
        match self.0.text(name) {
            Ok("") => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(TokenError::InvalidRequest("a parameter was repeated or malformed")),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for TokenForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !FormData::is_form(req.headers()) {
            return Err(TokenError::InvalidRequest("the body must be application/x-www-form-urlencoded").into());
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthError(TokenError::InvalidRequest("the request body could not be read")))?;
        Ok(Self(FormData::parse(&body)))
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| TokenError::InvalidClient)?;
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| TokenError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| TokenError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(TokenError::InvalidClient)?;
    let unescape = |s: &str| -> Result<String, TokenError> {
        let plus_as_space = s.replace('+', " ");
        percent_encoding::percent_decode_str(&plus_as_space)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| TokenError::InvalidClient)
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// Who the client says it is, by exactly one method.
pub fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Result<ClientCredentials, TokenError> {
    let basic = basic_credentials(headers)?;
    let post_id = form.param("client_id")?;
    let post_secret = form.param("client_secret")?;
    match (basic, post_secret) {
        (Some(_), Some(_)) => Err(TokenError::InvalidRequest("use exactly one client authentication method")),
        (Some((id, secret)), None) => {
            if post_id.is_some_and(|p| p != id) {
                return Err(TokenError::InvalidRequest("client_id does not match the authenticated client"));
            }
            Ok(ClientCredentials { client_id: Some(id), secret: Some(Secret::new(secret)) })
        }
        (None, secret) => {
            Ok(ClientCredentials { client_id: post_id.map(str::to_string), secret: secret.map(Secret::new) })
        }
    }
}
