//! Redeeming an authorization code. The code is bound to its client, redirect URI and PKCE
//! challenge; a check that fails for another client does not burn it. Redemption is a
//! conditional update: of many parallel redemptions one wins, and any second redemption
//! revokes the grant, with every token the first one issued. Each exchange is a `token.issued`
//! event and each replay an `authorization_code.replayed` event, in the same transaction.

use super::Issued;
use crate::audit::{Actor, Event, EventKind};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::TokenError;
use crate::oauth::pkce::{CodeChallenge, CodeVerifier};
use crate::oauth::provider::Provider;
use crate::oauth::tokens::{Authentication, TokenResponse};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::audit;
use crate::store::grants::{self, StoredRefresh};

impl Provider {
    /// Redeems `code` for `client`, which may use this grant (checked by the request's parse).
    pub(super) async fn exchange_code(
        &self,
        client: &Client,
        code: &Secret,
        redirect_uri: &str,
        verifier: &CodeVerifier,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.unix();
        let hash = token_hash(code.expose());

        let stored =
            grants::find_code(&self.db, &hash).await?.ok_or(TokenError::InvalidGrant("unknown authorization code"))?;
        // Checks that do not burn the code: a wrong client, URI or verifier proves nothing.
        if stored.client_id != client.id {
            return Err(TokenError::InvalidGrant("the code was issued to another client"));
        }
        if stored.redirect_uri != redirect_uri {
            return Err(TokenError::InvalidGrant("redirect_uri does not match the authorization request"));
        }
        if !CodeChallenge::from_stored(stored.code_challenge.clone()).verify(verifier.expose()) {
            return Err(TokenError::InvalidGrant("PKCE verification failed"));
        }
        if stored.used_at.is_some() {
            self.revoke_after_replay(client, &stored).await?;
            return Err(TokenError::InvalidGrant("the code was already used"));
        }
        if stored.expires_at <= now {
            return Err(TokenError::InvalidGrant("the code expired"));
        }

        let tx = self.db.begin().await?;
        if !grants::use_code(&tx, &hash, now).await? {
            drop(tx);
            self.revoke_after_replay(client, &stored).await?;
            return Err(TokenError::InvalidGrant("the code was already used"));
        }
        if !grants::grant_live(&tx, stored.grant_id.as_str()).await? {
            return Err(TokenError::InvalidGrant("the authorization was revoked"));
        }
        let user = self
            .grant_user(&tx, stored.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        let auth = Authentication { auth_time: stored.auth_time, amr: stored.amr.clone(), sid: stored.sid.clone() };
        let refresh_token = if client.allows(GrantType::RefreshToken) {
            let token = random_token();
            let record = StoredRefresh {
                grant_id: stored.grant_id.clone(),
                client_id: stored.client_id.clone(),
                user_id: stored.user_id,
                scope: stored.scope.clone(),
                auth_time: stored.auth_time,
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
        let issued =
            Issued { grant_id: &stored.grant_id, auth: &auth, nonce: stored.nonce.as_deref(), refreshed: false };
        let with_refresh = refresh_token.is_some();
        let response = self.respond(&user, client, &stored.scope, issued, refresh_token).await?;
        let event = Event::new(EventKind::TokenIssued)
            .actor(Actor::Client(client.id.to_string()))
            .user(user.id)
            .client(client.id.as_str())
            .detail("grant_type", GrantType::AuthorizationCode.as_str())
            .detail("scope", stored.scope.to_string())
            .detail("grant_id", stored.grant_id.as_str())
            .detail("refresh_token", with_refresh);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        tracing::info!(client_id = %client.id, user_id = %user.id, "code exchanged");
        Ok(response)
    }
}
