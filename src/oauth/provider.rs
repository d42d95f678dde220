//! The provider service the OAuth endpoints, the CLI and the admin console call (client
//! management is in `clients.rs`).

use std::sync::Arc;

use super::client::Client;
use super::error::TokenError;
use super::keys::{Alg, KeyRing};
use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::crypto::SecretBox;
use crate::secret::Secret;
use crate::store::{Db, clients};

#[derive(Debug, Clone)]
pub struct Provider {
    pub(super) db: Db,
    pub(super) keys: Arc<KeyRing>,
    pub(super) clock: SharedClock,
    pub(super) settings: TokenSettings,
    pub(super) issuer: Arc<str>,
    /// Seals the successor of a rotated refresh token for the opt-in grace window.
    pub(super) successors: SecretBox,
    pub(super) id_alg: Alg,
    pub(super) access_alg: Alg,
    pub(super) clients: Arc<super::client_cache::ClientCache>,
    /// Refreshes and client-credentials tokens issued since the last audit flush.
    pub(super) issued: Arc<super::issuance::IssuanceCounter>,
}

/// How a request to the token side authenticated its client.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub secret: Option<Secret>,
}

impl Provider {
    pub fn new(
        db: Db,
        keys: Arc<KeyRing>,
        clock: SharedClock,
        settings: TokenSettings,
        issuer: &str,
        successors: SecretBox,
    ) -> Self {
        let (id_alg, access_alg) = (settings.id_token_alg, settings.access_token_alg);
        Self {
            db,
            keys,
            clock,
            settings,
            issuer: issuer.trim_end_matches('/').into(),
            successors,
            id_alg,
            access_alg,
            clients: Arc::default(),
            issued: Arc::default(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn id_token_alg(&self) -> Alg {
        self.id_alg
    }

    /// The algorithm of `client`'s ID tokens: its registered `id_token_signed_response_alg`,
    /// else the server's default.
    pub fn id_token_alg_for(&self, client: &Client) -> Alg {
        client.id_token_alg.unwrap_or(self.id_alg)
    }

    /// Counts a refresh or client-credentials issuance (after it succeeded) for the audit log.
    pub(super) fn count_issued(&self, grant: super::issuance::Counted, client_id: &str) {
        self.issued.count(grant, client_id, self.clock.now_ms());
    }

    /// Housekeeping: one `token.issued` event per (grant type, client) counted since the last
    /// flush (see `oauth::issuance`); the number of events written.
    pub async fn flush_issued_counts(&self) -> anyhow::Result<usize> {
        self.issued.flush(&self.db, self.clock.now_ms()).await
    }

    /// A client by id, from this node's short-lived cache when it read it just now.
    pub async fn client(&self, id: &str) -> anyhow::Result<Option<Client>> {
        let now = self.clock.unix();
        if let Some(client) = self.clients.get(id, now) {
            return Ok(Some(client));
        }
        let found = clients::find(&self.db, id).await?;
        if let Some(client) = &found {
            self.clients.put(client, now);
        }
        Ok(found)
    }

    pub async fn clients(&self) -> anyhow::Result<Vec<Client>> {
        clients::list(&self.db).await
    }

    /// Client authentication on the token side: a public client names itself and presents
    /// no secret; a confidential one must present its secret (compared in constant time).
    pub async fn authenticate_client(&self, creds: ClientCredentials) -> Result<Client, TokenError> {
        let Some(id) = creds.client_id.filter(|id| !id.is_empty()) else { return Err(TokenError::InvalidClient) };
        let Some(client) = self.client(&id).await? else { return Err(TokenError::InvalidClient) };
        match (client.public, &creds.secret) {
            (true, None) => Ok(client),
            (false, Some(secret)) if client.secret_matches(secret.expose()) => Ok(client),
            _ => Err(TokenError::InvalidClient),
        }
    }
}
