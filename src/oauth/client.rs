//! Registered clients. Confidential clients hold a generated 256-bit secret, stored as its
//! SHA-256 (right for high-entropy secrets, and cheap on the token path: no password hash).

use super::keys::Alg;
use super::redirect::RedirectUri;
use super::scope::{ADMIN, Scope};
use crate::secret::{constant_time_eq, token_hash};

/// The device grant's `grant_type` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628 §3.4: `urn:ietf:params:oauth:grant-type:device_code`.
    DeviceCode,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    /// The grant a `grant_type` value names (the registered names only).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::AuthorizationCode, Self::RefreshToken, Self::ClientCredentials, Self::DeviceCode]
            .into_iter()
            .find(|g| g.as_str() == s)
    }

    /// A grant as an operator names it (`client add --grant`): the registered names, and
    /// `device_code` for the device grant's URN.
    pub fn from_setting(s: &str) -> Option<Self> {
        if s == "device_code" { Some(Self::DeviceCode) } else { Self::parse(s) }
    }
}

/// A client's id as stored with what was issued to it (its shape is checked when a client is
/// registered: [`check_new_client_id`]; ids read back are taken as they are).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<String> for ClientId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub public: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    /// What the client may ask for.
    pub scopes: Scope,
    /// Its registered audiences: the `aud` of its access tokens besides its own id (the APIs
    /// it calls). Never this issuer or the first-party API audience.
    pub audiences: Vec<String>,
    /// Users must prove a second factor to sign in to this client.
    pub require_mfa: bool,
    /// Allowed by the operator to call Portcullis's own account and admin APIs: its access
    /// tokens carry the first-party API audience, and it may ask for the `admin` scope.
    pub api_access: bool,
    /// A resource server: may introspect the access tokens of every client, not only the
    /// ones issued to it or naming it in `aud`.
    pub introspect_any: bool,
    /// The JWS algorithm of its ID tokens (its `id_token_signed_response_alg`, OIDC Dynamic
    /// Client Registration §2); `None`: the server's `tokens.id_token_alg` (RS256 by default).
    pub id_token_alg: Option<Alg>,
    /// Whether a refresh response carries a new ID token (OIDC Core §12.2 allows omitting it).
    pub id_token_on_refresh: bool,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The registered redirect URI a request names, if it matches one.
    pub fn redirect_uri(&self, requested: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.matches(requested, self.public))
    }

    pub fn post_logout_redirect_uri(&self, requested: &str) -> Option<&RedirectUri> {
        self.post_logout_redirect_uris.iter().find(|r| r.as_str() == requested)
    }

    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => constant_time_eq(stored, &token_hash(presented)),
            None => false,
        }
    }

    /// What the client may ask for: its registered scopes, without `admin` unless the
    /// operator allowed it the first-party API (so a stored scope list alone never grants it).
    pub fn allowed_scopes(&self) -> Scope {
        if self.api_access { self.scopes.clone() } else { self.scopes.without(ADMIN) }
    }

    pub fn display_name(&self) -> &str {
        if self.name.is_empty() { &self.id } else { &self.name }
    }
}

/// A client id: 1–128 characters of letters, digits and `._-:`.
pub fn valid_client_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// An id a new client may take: well-formed, and not shaped like a UUID in any spelling a
/// UUID parser accepts (hyphenated, 32 hex digits, `urn:uuid:…`). User ids are UUIDs, and a
/// client-credentials token's `sub` is the client id, so a UUID-shaped client id could pose as
/// a user to anything that reads `sub`. Clients stored before this rule keep working.
pub fn check_new_client_id(id: &str) -> Result<(), &'static str> {
    if !valid_client_id(id) {
        return Err("1 to 128 letters, digits, '.', '_', '-' or ':'");
    }
    if uuid::Uuid::try_parse(id).is_ok() {
        return Err(
            "a client id cannot look like a UUID (user ids are UUIDs, and a client's own tokens carry its id as `sub`)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_client_id_is_never_shaped_like_a_user_id() {
        let user_id = "0191d6c4-5b8e-7c3a-9f1e-2a4b6c8d0e1f";
        for (case, id) in [
            ("hyphenated", user_id.to_string()),
            ("upper case", user_id.to_uppercase()),
            ("32 hex digits", user_id.replace('-', "")),
            ("urn form", format!("urn:uuid:{user_id}")),
        ] {
            assert!(check_new_client_id(&id).unwrap_err().contains("UUID"), "{case}");
        }
        for id in ["my-app", "portcullis-api", "0191d6c4-5b8e-7c3a-9f1e", "com.example:app"] {
            assert_eq!(check_new_client_id(id), Ok(()), "{id}");
        }
        assert!(check_new_client_id("has space").is_err());
    }
}
