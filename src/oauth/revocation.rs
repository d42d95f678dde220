//! Revocation (RFC 7009) and introspection (RFC 7662).

use serde_json::{Value, json};

use super::client::Client;
use super::error::{BearerError, TokenError};
use super::provider::Provider;
use crate::audit::{Actor, Event, EventKind};
use crate::identity::user::UserId;
use crate::secret::token_hash;
use crate::store::{audit, grants};

impl Provider {
    /// Revokes a refresh token (ending its whole grant) or an access token (by `jti`), if it
    /// was issued to `client`. Unknown tokens and other clients' tokens change nothing and
    /// answer the same; a storage failure is an error, never a false success.
    pub async fn revoke(&self, client: &Client, token: &str, hint: Option<&str>) -> Result<(), TokenError> {
        // RFC 7009 §2.1: the hint only orders the search, and both kinds are looked at anyway.
        let _ = hint;
        let now = self.clock.unix();
        let revoked = |token_type: &str| {
            Event::new(EventKind::TokenRevoked)
                .actor(Actor::Client(client.id.clone()))
                .client(client.id.as_str())
                .detail("token_type", token_type)
        };
        if let Some(stored) = grants::find_refresh(&self.db, &token_hash(token)).await? {
            if stored.client_id == client.id {
                let tx = self.db.begin().await?;
                // Only a grant that was live ends here (and is recorded); revoking it again is a no-op.
                if grants::revoke_grant(&tx, stored.grant_id.as_str(), now).await? == 1 {
                    let mut event = revoked("refresh_token").detail("grant_id", stored.grant_id.as_str());
                    event.user = Some(stored.user_id);
                    audit::append(&tx, self.clock.now_ms(), &event).await?;
                }
                tx.commit().await?;
                tracing::info!(client_id = %client.id, "refresh token revoked with its grant");
            }
            return Ok(());
        }
        match self.verify_any_access_token(token).await {
            // A token already revoked no longer verifies: each access token is recorded once.
            Ok(claims) if claims.client_id == client.id => {
                let tx = self.db.begin().await?;
                grants::revoke_jti(&tx, &claims.jti, claims.exp + 60).await?;
                let mut event = revoked("access_token").detail("jti", claims.jti.as_str());
                if claims.gid.is_some() {
                    event.user = UserId::parse(&claims.sub);
                }
                audit::append(&tx, self.clock.now_ms(), &event).await?;
                tx.commit().await?;
                tracing::info!(client_id = %client.id, "access token revoked");
                Ok(())
            }
            Ok(_)
            | Err(
                BearerError::InvalidToken
                | BearerError::Missing
                | BearerError::InvalidRequest
                | BearerError::InsufficientScope,
            ) => Ok(()),
            Err(BearerError::Internal(e)) => Err(TokenError::Internal(e)),
        }
    }

    /// What a confidential client may learn about a token: `active: false` for anything not
    /// live, and for anything the caller may not know about (RFC 7662 §4): a refresh token
    /// only to the client it was issued to; an access token to that client, to a client its
    /// `aud` names, and to resource servers allowed every token ([`Client::introspect_any`]).
    pub async fn introspect(&self, client: &Client, token: &str) -> Result<Value, TokenError> {
        if client.public {
            return Err(TokenError::InvalidClient);
        }
        let now = self.clock.unix();
        let inactive = json!({ "active": false });
        if let Some(stored) = grants::find_refresh(&self.db, &token_hash(token)).await? {
            let live = stored.client_id == client.id
                && stored.used_at.is_none()
                && stored.expires_at > now
                && stored.idle_expires_at > now
                && grants::grant_live(&self.db, stored.grant_id.as_str()).await?
                && self.grant_user(&self.db, stored.user_id).await?.is_some();
            if !live {
                return Ok(inactive);
            }
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": stored.client_id.as_str(),
                "sub": stored.user_id.to_string(),
                "scope": stored.scope.to_string(),
                "exp": stored.idle_expires_at.min(stored.expires_at),
                "iss": &*self.issuer,
            }));
        }
        // Tokens of every audience verify here; who may learn about them is decided next.
        let claims = match self.verify_any_access_token(token).await {
            Ok(c) => c,
            Err(BearerError::Internal(e)) => return Err(TokenError::Internal(e)),
            Err(_) => return Ok(inactive),
        };
        if !self.may_introspect(client, &claims) {
            return Ok(inactive);
        }
        if claims.gid.is_some() && self.subject_user(&self.db, &claims.sub).await?.is_none() {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true,
            "token_type": "access_token",
            "client_id": claims.client_id,
            "sub": claims.sub,
            "scope": claims.scope.to_string(),
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "aud": claims.aud,
            "iss": &*self.issuer,
        }))
    }
}
