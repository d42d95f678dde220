//! The provider service the OAuth endpoints and the CLI call, and client administration.

use std::sync::Arc;

use super::client::{Client, GrantType, check_new_client_id};
use super::error::TokenError;
use super::keys::{Alg, KeyRing};
use super::redirect::RedirectUri;
use super::scope::{ADMIN, OIDC_SCOPES, Scope};
use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::crypto::SecretBox;
use crate::secret::{Secret, random_token, token_hash};
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

/// What `client add` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub public: bool,
    pub first_party: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty: authorization_code and refresh_token.
    pub grant_types: Vec<String>,
    /// Empty: openid profile email offline_access.
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub require_mfa: bool,
    /// May call the first-party account and admin APIs (and ask for `admin`).
    pub api_access: bool,
    /// May introspect every client's access tokens (a resource server).
    pub introspect_any: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("a client with that id exists")]
    Taken,
    #[error("no such client")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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

    /// Registers a client; confidential clients get a secret, returned once.
    pub async fn register_client(&self, new: NewClient) -> Result<(Client, Option<Secret>), ClientAdminError> {
        let invalid = |m: String| ClientAdminError::Invalid(m);
        check_new_client_id(&new.id).map_err(|m| invalid(format!("--id: {m}")))?;
        for aud in &new.audiences {
            if self.reserved_audience(aud) {
                return Err(invalid(format!(
                    "--audience: {aud:?} is reserved (this issuer and its own API); use --api-access for the API"
                )));
            }
        }
        if new.public && new.introspect_any {
            return Err(invalid("public clients cannot introspect tokens".into()));
        }
        let redirect_uris = new
            .redirect_uris
            .iter()
            .map(|r| RedirectUri::register(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let post_logout_redirect_uris = new
            .post_logout_redirect_uris
            .iter()
            .map(|r| RedirectUri::register(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let grant_names = if new.grant_types.is_empty() {
            vec!["authorization_code".to_string(), "refresh_token".to_string()]
        } else {
            new.grant_types.clone()
        };
        let mut grant_types = Vec::new();
        for g in &grant_names {
            let grant = GrantType::parse(g).ok_or_else(|| invalid(format!("--grant: unknown grant type {g:?}")))?;
            if !grant_types.contains(&grant) {
                grant_types.push(grant);
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(invalid("the authorization_code grant needs at least one --redirect-uri".into()));
        }
        if new.public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(invalid("public clients cannot use client_credentials".into()));
        }
        let scope_text = if new.scopes.is_empty() { OIDC_SCOPES.join(" ") } else { new.scopes.join(" ") };
        let scopes = Scope::parse(&scope_text).map_err(|m| invalid(format!("--scope: {m}")))?;
        if scopes.contains(ADMIN) && !new.api_access {
            return Err(invalid("--scope admin needs --api-access (the admin API is for clients you allow it)".into()));
        }
        let secret = (!new.public).then(|| Secret::new(random_token()));
        let client = Client {
            id: new.id,
            name: new.name,
            secret_hash: secret.as_ref().map(|s| token_hash(s.expose())),
            public: new.public,
            first_party: new.first_party,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            audiences: new.audiences,
            require_mfa: new.require_mfa,
            api_access: new.api_access,
            introspect_any: new.introspect_any,
        };
        if !clients::insert(&self.db, &client, self.clock.unix()).await? {
            return Err(ClientAdminError::Taken);
        }
        Ok((client, secret))
    }

    pub async fn remove_client(&self, id: &str) -> Result<(), ClientAdminError> {
        self.clients.forget(id);
        if clients::remove(&self.db, id).await? { Ok(()) } else { Err(ClientAdminError::NotFound) }
    }

    /// A new secret for a confidential client; the old one stops working at once.
    pub async fn rotate_client_secret(&self, id: &str) -> Result<Secret, ClientAdminError> {
        let secret = Secret::new(random_token());
        self.clients.forget(id);
        if clients::set_secret_hash(&self.db, id, &token_hash(secret.expose()), self.clock.unix()).await? {
            Ok(secret)
        } else {
            Err(ClientAdminError::NotFound)
        }
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
