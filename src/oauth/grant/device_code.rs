//! Redeeming a device code (RFC 8628 §3.4–3.5). The device polls with its code: until the
//! person answers it hears `authorization_pending`, polling sooner than its interval
//! `slow_down` (and the interval grows by 5 seconds), a denial `access_denied`, an expired
//! code `expired_token`. An approved code is redeemed by one conditional update, so of many
//! parallel polls one gets the tokens and every later one `invalid_grant`. Each redemption
//! is a `token.issued` event in its transaction.

use super::{GrantId, Issued};
use crate::audit::{Actor, Event, EventKind};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::device::SLOW_DOWN_STEP_SECS;
use crate::oauth::error::TokenError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::OFFLINE_ACCESS;
use crate::oauth::tokens::{Authentication, TokenResponse};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::audit;
use crate::store::device_codes::{self, DeviceStatus};
use crate::store::grants::{self, StoredRefresh};

impl Provider {
    /// Answers a poll of `client`, which may use this grant (checked by the request's parse).
    pub(super) async fn redeem_device_code(
        &self,
        client: &Client,
        device_code: &Secret,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.unix();
        let hash = token_hash(device_code.expose());
        let stored = device_codes::find_by_device_code(&self.db, &hash)
            .await?
            .ok_or(TokenError::InvalidGrant("unknown device code"))?;
        if stored.client_id != client.id {
            return Err(TokenError::InvalidGrant("the device code was issued to another client"));
        }
        if stored.status == DeviceStatus::Redeemed {
            return Err(TokenError::InvalidGrant("the device code was already used"));
        }
        if stored.expires_at <= now {
            return Err(TokenError::ExpiredToken);
        }
        match stored.status {
            DeviceStatus::Pending => {
                if device_codes::poll(&self.db, &hash, now, SLOW_DOWN_STEP_SECS).await? {
                    return Err(TokenError::SlowDown);
                }
                return Err(TokenError::AuthorizationPending);
            }
            DeviceStatus::Denied => return Err(TokenError::AccessDenied),
            DeviceStatus::Redeemed => return Err(TokenError::InvalidGrant("the device code was already used")),
            DeviceStatus::Approved => {}
        }
        let (Some(user_id), Some(auth_time)) = (stored.user_id, stored.auth_time) else {
            return Err(TokenError::Internal(anyhow::anyhow!("an approved device code without its approver")));
        };

        let tx = self.db.begin().await?;
        if !device_codes::redeem(&tx, &hash, now).await? {
            return Err(TokenError::InvalidGrant("the device code was already used"));
        }
        let user =
            self.grant_user(&tx, user_id).await?.ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        let grant_id = GrantId::generate();
        // The device is not the browser that approved it: its grant outlives that session
        // (no `sid`), as a sign-in of its own.
        let offline = stored.scope.contains(OFFLINE_ACCESS);
        grants::insert_grant(&tx, grant_id.as_str(), user.id, &client.id, None, offline, now).await?;
        let auth = Authentication { auth_time, amr: stored.amr.clone(), sid: None };
        let refresh_token = if client.allows(GrantType::RefreshToken) {
            let token = random_token();
            let record = StoredRefresh {
                grant_id: grant_id.clone(),
                client_id: stored.client_id.clone(),
                user_id: user.id,
                scope: stored.scope.clone(),
                auth_time,
                amr: stored.amr.clone(),
                expires_at: now + self.settings.refresh_absolute_ttl_secs,
                idle_expires_at: now + self.settings.refresh_idle_ttl_secs,
                used_at: None,
                used_at_ms: None,
                successor: None,
            };
            grants::insert_refresh(&tx, &token_hash(&token), &record, now).await?;
            Some(token)
        } else {
            None
        };
        let with_refresh = refresh_token.is_some();
        let issued = Issued { grant_id: &grant_id, auth: &auth, nonce: None, refreshed: false };
        let response = self.respond(&user, client, &stored.scope, issued, refresh_token).await?;
        let event = Event::new(EventKind::TokenIssued)
            .actor(Actor::Client(client.id.to_string()))
            .user(user.id)
            .client(client.id.as_str())
            .detail("grant_type", GrantType::DeviceCode.as_str())
            .detail("scope", stored.scope.to_string())
            .detail("grant_id", grant_id.as_str())
            .detail("refresh_token", with_refresh);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        tracing::info!(client_id = %client.id, user_id = %user.id, "device code redeemed");
        Ok(response)
    }
}
