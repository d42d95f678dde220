//! The token request (RFC 6749 §4.1.3, §4.4.2, §6), parsed once into one variant per grant.
//!
//! The HTTP edge hands over a lookup of the form's parameters; nothing below it reads a
//! parameter by name again. The order of the checks is the endpoint's contract and is kept
//! here: a missing `grant_type` is `invalid_request`, an unknown one `unsupported_grant_type`
//! (both before the client is authenticated); then `unauthorized_client` when the client may
//! not use the grant; then the grant's own parameters, in the order listed in each variant.

use super::super::client::{Client, GrantType};
use super::super::error::TokenError;
use super::super::pkce::CodeVerifier;
use super::super::scope::Scope;
use crate::secret::Secret;

/// A token request that names a grant this client may use, with that grant's parameters.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: Secret,
        /// Exactly as presented: the code is bound to this very string.
        redirect_uri: String,
        verifier: CodeVerifier,
    },
    Refresh {
        refresh_token: Secret,
        /// The narrowing asked for, if any. Its error (a repeated or malformed `scope`) is
        /// reported only after the token itself was judged: a replay asking for anything is
        /// still a replay and still revokes the grant.
        scope: Result<Option<Scope>, TokenError>,
    },
    ClientCredentials {
        /// The scope asked for; the client's allowed scopes when absent.
        scope: Option<Scope>,
    },
}

impl TokenRequest {
    /// The grant named by `grant_type`: required, and one this server supports.
    pub fn grant_type(grant_type: Option<&str>) -> Result<GrantType, TokenError> {
        let grant_type = grant_type.ok_or(TokenError::InvalidRequest("grant_type is required"))?;
        GrantType::parse(grant_type).ok_or(TokenError::UnsupportedGrantType)
    }

    /// The request of an authenticated `client` for `grant`, its parameters read through
    /// `param` (the single non-empty value of a name; an error when repeated or malformed).
    pub fn parse<'a>(
        client: &Client,
        grant: GrantType,
        param: impl Fn(&str) -> Result<Option<&'a str>, TokenError>,
    ) -> Result<Self, TokenError> {
        let public_may_not = grant == GrantType::ClientCredentials && client.public;
        if public_may_not || !client.allows(grant) {
            return Err(TokenError::UnauthorizedClient);
        }
        let required = |name: &str, missing: &'static str| param(name)?.ok_or(TokenError::InvalidRequest(missing));
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode {
                code: Secret::new(required("code", "code is required")?),
                redirect_uri: required("redirect_uri", "redirect_uri is required")?.to_string(),
                verifier: CodeVerifier::new(required("code_verifier", "code_verifier is required")?),
            },
            GrantType::RefreshToken => Self::Refresh {
                refresh_token: Secret::new(required("refresh_token", "refresh_token is required")?),
                scope: param("scope").and_then(|asked| asked.map(parse_scope).transpose()),
            },
            GrantType::ClientCredentials => {
                Self::ClientCredentials { scope: param("scope")?.map(parse_scope).transpose()? }
            }
        })
    }
}

fn parse_scope(asked: &str) -> Result<Scope, TokenError> {
    Scope::parse(asked).map_err(TokenError::InvalidScope)
}
