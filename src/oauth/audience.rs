//! Who an access token is for (`aud`, RFC 9068 §3 and RFC 8707 §2). Each resource accepts
//! only tokens minted for it:
//! - a relying party's tokens name the client itself and its registered audiences (the APIs
//!   it calls, `client add --audience`); `/userinfo`, the OpenID Connect resource, accepts a
//!   token that names the client it was issued to;
//! - Portcullis's own account API (`/profile`, `/logout`) and admin API (`/users`) accept only
//!   tokens for [`API_AUDIENCE_PATH`] under the issuer, which go only to the built-in API client
//!   and to clients the operator allowed the API (`client add --api-access`);
//! - the issuer itself is never an audience: it would be a catch-all.
//!
//! Until resource indicators (RFC 8707) are supported a client cannot ask for a narrower
//! audience; it gets all of its registered ones.

use super::client::Client;
use super::provider::Provider;
use super::tokens::AccessClaims;

/// Appended to the issuer, the audience of the first-party account and admin APIs:
/// `<issuer>/api`. An identifier, not a route. Defined here only.
pub const API_AUDIENCE_PATH: &str = "/api";

impl Provider {
    /// The `aud` that opens the first-party account and admin APIs: `<issuer>/api`.
    pub fn api_audience(&self) -> String {
        format!("{}{API_AUDIENCE_PATH}", self.issuer)
    }

    /// Audiences a client cannot register: the issuer (a catch-all) and the first-party API
    /// (only [`Client::api_access`] grants that).
    pub(super) fn reserved_audience(&self, aud: &str) -> bool {
        let aud = aud.trim_end_matches('/');
        aud == &*self.issuer || aud == self.api_audience()
    }

    /// The `aud` of an access token for `client`: its own id, its registered audiences (minus
    /// any reserved value a stored row might hold), and the first-party API when the operator
    /// allowed it.
    pub(super) fn audiences_for(&self, client: &Client) -> Vec<String> {
        let mut aud = vec![client.id.clone()];
        for extra in &client.audiences {
            if !self.reserved_audience(extra) && !aud.contains(extra) {
                aud.push(extra.clone());
            }
        }
        if client.api_access {
            aud.push(self.api_audience());
        }
        aud
    }

    /// Whether a verified access token may call the first-party APIs: its `aud` names them,
    /// and the client it was issued to still exists and is still allowed them (read on every
    /// request, like a user's admin flag, so removing a client ends its tokens here at once).
    pub async fn admits_to_api(&self, claims: &AccessClaims) -> anyhow::Result<bool> {
        if !claims.aud.contains(&self.api_audience()) {
            return Ok(false);
        }
        Ok(self.client(&claims.client_id).await?.is_some_and(|c| c.api_access))
    }

    /// Whether `caller` may learn about an access token by introspection (RFC 7662 §4): it was
    /// issued to the caller, names the caller in `aud`, or the caller is a resource server the
    /// operator allowed every token (`client add --introspect-any`).
    pub(super) fn may_introspect(&self, caller: &Client, claims: &AccessClaims) -> bool {
        caller.introspect_any || claims.client_id == caller.id || claims.aud.contains(&caller.id)
    }
}
