//! Refresh with rotation (RFC 6749 §6, RFC 9700 §4.14.2, OAuth 2.1 §4.3.1). Every use marks
//! the token used (a conditional update, so one caller wins) and issues a successor. By
//! default any later use of a rotated token — a replay, or a request that lost a race — is
//! reuse: the grant is revoked at once, with the successor and every access token of it, and
//! a `refresh_token_reuse` warning names the grant and the client (never the token).
//!
//! `tokens.refresh_grace_ms` (opt-in, at most 5 s) trades some of that detection for clients
//! that refresh concurrently: a rotated token used again less than that many milliseconds
//! after its rotation gets the same successor back (sealed beside the used token), so there
//! are never two live successors; after the window, reuse revokes everything as above.
//!
//! Successes are counted for the audit log (`oauth::issuance`), not recorded one by one;
//! reuse is always its own event.
//!
//! The ID token of a refresh carries the `sid` of the grant's browser session, like the one
//! from the code exchange (back-channel logout names sessions by it). Scope may narrow for
//! the new access token, never widen.

use super::Issued;
use crate::audit::{Actor, Event, EventKind};
use crate::oauth::client::Client;
use crate::oauth::error::TokenError;
use crate::oauth::issuance::Counted;
use crate::oauth::provider::Provider;
use crate::oauth::scope::Scope;
use crate::oauth::tokens::{Authentication, TokenResponse};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::audit;
use crate::store::grants::{self, RefreshWithGrant, StoredRefresh};
use crate::store::group_commit::{self, Rotation};

impl Provider {
    /// Rotates `presented` for `client`, which may use this grant (checked by the request's
    /// parse); `asked` is the narrowing the request asked for, judged after the token.
    pub(super) async fn refresh(
        &self,
        client: &Client,
        presented: &Secret,
        asked: Result<Option<Scope>, TokenError>,
    ) -> Result<TokenResponse, TokenError> {
        let now_ms = self.clock.now_ms();
        let now = now_ms.div_euclid(1000);
        let hash = token_hash(presented.expose());
        let RefreshWithGrant { token: stored, grant_live, sid } = grants::find_refresh_and_grant(&self.db, &hash)
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
        // Reuse is judged before the scope: a replay asking for another scope is still a replay.
        let scope = requested_scope(&stored, asked);
        if stored.used_at.is_some() {
            return self.rotated_again(client, &stored, sid, scope, now_ms).await;
        }
        let scope = scope?;
        // Everything that needs no lock happens first: the user, and the signatures (an RS256
        // ID token is ~0.4 ms of CPU). The transaction then only swaps the tokens, so the
        // database's one writer is held for two statements and a commit, not for signing.
        let user = self
            .grant_user(&self.db, stored.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        let successor = random_token();
        let auth = auth_of(&stored, sid.clone());
        let issued = Issued { grant_id: &stored.grant_id, auth: &auth, nonce: None, refreshed: true };
        let response = self.respond(&user, client, &scope, issued, Some(successor.clone())).await?;
        // Only a grace window ever hands the successor out again; strict mode keeps no copy.
        let sealed =
            if self.settings.refresh_grace_ms > 0 { Some(self.successors.seal(successor.as_bytes())?) } else { None };

        let record = StoredRefresh {
            idle_expires_at: (now + self.settings.refresh_idle_ttl_secs).min(stored.expires_at),
            used_at: None,
            used_at_ms: None,
            successor: None,
            ..stored.clone()
        };
        // One transaction: the presented token used (for exactly one caller), its successor
        // stored. On SQLite concurrent rotations share it (group commit); either way this
        // returns only after the commit.
        let rotation = Rotation {
            presented: hash.clone(),
            sealed_successor: sealed,
            successor: token_hash(&successor),
            record,
            now_ms,
        };
        if !group_commit::rotate(&self.db, rotation).await? {
            // Lost a race: the winner's rotation is committed now; our tokens are discarded
            // unseen (nothing records them, and access tokens are only valid with their grant).
            let current = grants::find_refresh(&self.db, &hash)
                .await?
                .ok_or(TokenError::InvalidGrant("unknown refresh token"))?;
            return self.rotated_again(client, &current, sid, Ok(scope), now_ms).await;
        }
        self.count_issued(Counted::RefreshToken, client.id.as_str());
        Ok(response)
    }

    /// A rotated token used again: within an opt-in grace window the caller gets the same
    /// successor; otherwise (always, by default) the grant is revoked.
    async fn rotated_again(
        &self,
        client: &Client,
        stored: &StoredRefresh,
        sid: Option<String>,
        scope: Result<Scope, TokenError>,
        now_ms: i64,
    ) -> Result<TokenResponse, TokenError> {
        let successor = stored
            .successor
            .as_deref()
            .filter(|_| self.within_grace(stored.used_at_ms, now_ms))
            .and_then(|sealed| self.successors.open(sealed).ok())
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok());
        let Some(successor) = successor else {
            self.revoke_after_reuse(client, stored, now_ms).await?;
            return Err(TokenError::InvalidGrant("the refresh token was already used"));
        };
        let scope = scope?;
        let user = self
            .grant_user(&self.db, stored.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("the user is no longer active"))?;
        if !grants::grant_live(&self.db, stored.grant_id.as_str()).await? {
            return Err(TokenError::InvalidGrant("the refresh token was revoked"));
        }
        let auth = auth_of(stored, sid);
        let issued = Issued { grant_id: &stored.grant_id, auth: &auth, nonce: None, refreshed: true };
        let response = self.respond(&user, client, &scope, issued, Some(successor)).await?;
        self.count_issued(Counted::RefreshToken, client.id.as_str());
        Ok(response)
    }

    /// Whether a token rotated at `used_at_ms` may still be answered with its successor:
    /// never when the window is 0 (the default); otherwise less than `refresh_grace_ms` apart
    /// either way (another node's clock may be a little behind this one's).
    fn within_grace(&self, used_at_ms: Option<i64>, now_ms: i64) -> bool {
        let grace = self.settings.refresh_grace_ms;
        grace > 0 && used_at_ms.is_some_and(|used| now_ms.saturating_sub(used).saturating_abs() < grace)
    }

    /// Reuse detected: the grant ends (its successor and every access token with it, which
    /// `/userinfo` and `/introspect` check on every call), with the
    /// `refresh_token.reuse_detected` event in the same transaction, counted and logged.
    async fn revoke_after_reuse(&self, client: &Client, stored: &StoredRefresh, now_ms: i64) -> anyhow::Result<()> {
        let since_rotation_ms = stored.used_at_ms.map(|used| now_ms.saturating_sub(used));
        let tx = self.db.begin().await?;
        let revoked = grants::revoke_grant(&tx, stored.grant_id.as_str(), now_ms.div_euclid(1000)).await?;
        let event = Event::new(EventKind::RefreshTokenReuse)
            .actor(Actor::System)
            .user(stored.user_id)
            .client(client.id.as_str())
            .detail("grant_id", stored.grant_id.as_str())
            .detail("grant_revoked", revoked > 0)
            .detail("since_rotation_ms", since_rotation_ms)
            .detail("grace_ms", self.settings.refresh_grace_ms);
        audit::append(&tx, now_ms, &event).await?;
        tx.commit().await?;
        metrics::counter!(crate::telemetry::metrics::names::REFRESH_REUSE, "token" => "refresh token").increment(1);
        tracing::warn!(
            event = "refresh_token_reuse",
            grant_id = %stored.grant_id,
            client_id = %client.id,
            user_id = %stored.user_id,
            since_rotation_ms,
            grace_ms = self.settings.refresh_grace_ms,
            revoked,
            "a rotated refresh token was used again: its grant, the successor and every access token of it are revoked"
        );
        Ok(())
    }
}

/// The scope of the new access token: the granted one, or a subset of it when asked.
fn requested_scope(stored: &StoredRefresh, asked: Result<Option<Scope>, TokenError>) -> Result<Scope, TokenError> {
    let Some(asked) = asked? else { return Ok(stored.scope.clone()) };
    if !asked.is_subset(&stored.scope) {
        return Err(TokenError::InvalidScope("a refresh may narrow the scope, never widen it"));
    }
    Ok(asked)
}

fn auth_of(stored: &StoredRefresh, sid: Option<String>) -> Authentication {
    Authentication { auth_time: stored.auth_time, amr: stored.amr.clone(), sid }
}
