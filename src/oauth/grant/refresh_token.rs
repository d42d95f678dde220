//! Refresh with rotation. Every use marks the token used and issues a successor; requests
//! that lose a race within `refresh_grace_secs` get that same successor (sealed beside the
//! used token), so there are never two live successors. Any later use of a rotated token
//! revokes the whole grant. Scope may narrow for the new access token, never widen.

use super::{Issued, TokenParams};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::TokenError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{Authentication, TokenResponse};
use crate::secret::{random_token, token_hash};
use crate::store::grants::{self, StoredRefresh};

impl Provider {
    pub async fn refresh(&self, client: &Client, params: &impl TokenParams) -> Result<TokenResponse, TokenError> {
        if !client.allows(GrantType::RefreshToken) {
            return Err(TokenError::UnauthorizedClient);
        }
        let presented = params.get("refresh_token")?.ok_or(TokenError::InvalidRequest("refresh_token is required"))?;
        let now = self.clock.unix();
        let hash = token_hash(presented);
        let (stored, grant_live) = grants::find_refresh_and_grant(&self.db, &hash)
            .await?
            .ok_or(TokenError::InvalidGrant("unknown refresh token"))?;
        if stored.client_id != client.id {
            return Err(TokenError::InvalidGrant("the refresh token was issued to another client"));
        }
        if !grant_live {
            return Err(TokenError::InvalidGrant("the refresh token was revoked"));
        }
        if stored.expires_at <= now || stored.idle_expires_at <= now {
            return Err(TokenError::InvalidGrant("the refresh token expired"));
        }
        let granted = Scope::parse(&stored.scope).map_err(|_| TokenError::InvalidGrant("stored scope unreadable"))?;
        let scope = match params.get("scope")? {
            Some(asked) => {
                let asked = Scope::parse(asked).map_err(TokenError::InvalidScope)?;
                if !asked.is_subset(&granted) {
                    return Err(TokenError::InvalidScope("a refresh may narrow the scope, never widen it"));
                }
                asked
            }
            None => granted,
        };

        if stored.used_at.is_some() {
            return self.rotated_again(client, &stored, &scope, now).await;
        }
        // Everything that needs no lock happens first: the user, and the signatures (an RS256
        // ID token is ~0.4 ms of CPU). The transaction then only swaps the tokens, so the
        // database's one writer is held for two statements and a commit, not for signing.
        let user = self
            .grant_user(&self.db, &stored.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        let successor = random_token();
        let auth = auth_of(&stored);
        let issued = Issued { grant_id: &stored.grant_id, auth: &auth, nonce: None };
        let response = self.respond(&user, client, &scope, issued, Some(successor.clone())).await?;
        let sealed = self.successors.seal(successor.as_bytes())?;

        let tx = self.db.begin().await?;
        if !grants::rotate_refresh(&tx, &hash, &sealed, now).await? {
            // Lost a race: the winner's successor is committed now; our tokens are discarded
            // unseen (nothing records them, and access tokens are only valid with their grant).
            let current =
                grants::find_refresh(&tx, &hash).await?.ok_or(TokenError::InvalidGrant("unknown refresh token"))?;
            drop(tx);
            return self.rotated_again(client, &current, &scope, now).await;
        }
        let record = StoredRefresh {
            idle_expires_at: (now + self.settings.refresh_idle_ttl_secs).min(stored.expires_at),
            used_at: None,
            successor: None,
            ..stored.clone()
        };
        grants::insert_refresh(&tx, &token_hash(&successor), &record, now).await?;
        tx.commit().await?;
        Ok(response)
    }

    /// A rotated token used again: inside the grace window the caller gets the same
    /// successor; after it, the grant is revoked.
    async fn rotated_again(
        &self,
        client: &Client,
        stored: &StoredRefresh,
        scope: &Scope,
        now: i64,
    ) -> Result<TokenResponse, TokenError> {
        let within_grace = stored.used_at.is_some_and(|used| now - used <= self.settings.refresh_grace_secs);
        let successor =
            stored.successor.as_deref().filter(|_| within_grace).and_then(|sealed| self.successors.open(sealed).ok());
        let Some(successor) = successor.and_then(|bytes| String::from_utf8(bytes.to_vec()).ok()) else {
            self.revoke_after_replay(&stored.grant_id, "refresh token").await?;
            return Err(TokenError::InvalidGrant("the refresh token was already used"));
        };
        let user = self
            .grant_user(&self.db, &stored.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        if !grants::grant_live(&self.db, &stored.grant_id).await? {
            return Err(TokenError::InvalidGrant("the refresh token was revoked"));
        }
        let auth = auth_of(stored);
        let issued = Issued { grant_id: &stored.grant_id, auth: &auth, nonce: None };
        Ok(self.respond(&user, client, scope, issued, Some(successor)).await?)
    }
}

fn auth_of(stored: &StoredRefresh) -> Authentication {
    Authentication {
        auth_time: stored.auth_time,
        amr: stored.amr.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        sid: None,
    }
}
