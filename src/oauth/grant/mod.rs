//! The token endpoint's grants, one file each, and what they share.

/// `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
pub mod authorization_code;
/// `client_credentials` (RFC 6749 §4.4).
pub mod client_credentials;
/// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–3.5).
pub mod device_code;
/// `refresh_token` with rotation (RFC 6749 §6, RFC 9700 §4.14).
pub mod refresh_token;
/// The token request, parsed once into one variant per grant.
pub mod request;

use self::request::TokenRequest;
use super::client::Client;
use super::error::TokenError;
use super::provider::Provider;
use super::scope::{OPENID, Scope};
use super::tokens::{Authentication, TokenResponse};
use crate::audit::{Actor, Event, EventKind};
use crate::identity::user::{User, UserId};
use crate::store::grants::StoredCode;
use crate::store::{Store, audit, grants, users};

pub use crate::oauth::values::GrantId;

/// Which grant tokens come from, and the authentication behind it.
pub struct Issued<'a> {
    pub grant_id: &'a GrantId,
    pub auth: &'a Authentication,
    pub nonce: Option<&'a str>,
    /// From a refresh: an ID token only for clients that want one on refresh.
    pub refreshed: bool,
}

impl Provider {
    /// Answers a parsed token request of `client` with the grant it names.
    pub async fn token(&self, client: &Client, request: TokenRequest) -> Result<TokenResponse, TokenError> {
        match request {
            TokenRequest::AuthorizationCode { code, redirect_uri, verifier } => {
                self.exchange_code(client, &code, &redirect_uri, &verifier).await
            }
            TokenRequest::Refresh { refresh_token, scope } => self.refresh(client, &refresh_token, scope).await,
            TokenRequest::ClientCredentials { scope } => self.client_credentials(client, scope).await,
            TokenRequest::DeviceCode { device_code } => self.redeem_device_code(client, &device_code).await,
        }
    }

    /// The live, enabled user a grant was made for.
    pub(super) async fn grant_user(&self, s: &impl Store, user_id: UserId) -> anyhow::Result<Option<User>> {
        Ok(users::find_by_id(s, user_id).await?.filter(|u| !u.disabled))
    }

    /// The live, enabled user a token's `sub` names, if it names one.
    pub(super) async fn subject_user(&self, s: &impl Store, sub: &str) -> anyhow::Result<Option<User>> {
        let Some(id) = UserId::parse(sub) else { return Ok(None) };
        self.grant_user(s, id).await
    }

    /// Access token, ID token when `openid` was granted, and the refresh token given.
    pub(super) async fn respond(
        &self,
        user: &User,
        client: &Client,
        scope: &Scope,
        grant: Issued<'_>,
        refresh_token: Option<String>,
    ) -> anyhow::Result<TokenResponse> {
        let Issued { grant_id, auth, nonce, refreshed } = grant;
        let access_token =
            self.access_token(&user.id.to_string(), client, scope, Some(grant_id.as_str()), Some(auth)).await?;
        // OIDC Core §12.2: a refresh response MAY carry a new ID token; per client (the
        // default is yes, signed like the one from sign-in; see docs/id-tokens.md).
        let id_token = if scope.contains(OPENID) && (!refreshed || client.id_token_on_refresh) {
            Some(self.id_token(user, client, scope, nonce, auth, &access_token).await?)
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.settings.access_token_ttl_secs,
            refresh_token,
            id_token,
            scope: scope.to_string(),
        })
    }

    /// A used authorization code presented again (by its own client, with the right
    /// redirect URI and verifier): the grant is revoked with everything it issued, and the
    /// `authorization_code.replayed` event is written in the same transaction, every time.
    pub(super) async fn revoke_after_replay(&self, client: &Client, stored: &StoredCode) -> anyhow::Result<()> {
        let now_ms = self.clock.now_ms();
        let tx = self.db.begin().await?;
        let n = grants::revoke_grant(&tx, stored.grant_id.as_str(), now_ms.div_euclid(1000)).await?;
        let event = Event::new(EventKind::CodeReplay)
            .actor(Actor::System)
            .user(stored.user_id)
            .client(client.id.as_str())
            .detail("grant_id", stored.grant_id.as_str())
            .detail("grant_revoked", n > 0);
        audit::append(&tx, now_ms, &event).await?;
        tx.commit().await?;
        metrics::counter!(crate::telemetry::metrics::names::REFRESH_REUSE, "token" => "authorization code")
            .increment(1);
        tracing::warn!(grant_id = %stored.grant_id, revoked = n, "authorization code replayed: every token of the grant is revoked");
        Ok(())
    }
}
