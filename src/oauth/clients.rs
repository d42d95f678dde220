//! Client management: register, change, new secret, delete. The one place the rules for a
//! client's settings live (redirect URIs, grants, scopes, audiences), used by the CLI and the
//! admin console alike. Each change writes its audit event (`client.created`,
//! `client.changed`, `client.secret_rotated`, `client.deleted`) in the same transaction,
//! naming who made it.

use super::client::{Client, GrantType, check_new_client_id};
use super::keys::Alg;
use super::provider::Provider;
use super::redirect::RedirectUri;
use super::scope::{ADMIN, OIDC_SCOPES, Scope};
use crate::audit::{Actor, Event, EventKind};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::{audit, clients};

/// What `client add` (and the console's "new client" form) asks for.
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
    /// Its ID tokens' algorithm (`id_token_signed_response_alg`); `None`: the server's default.
    pub id_token_alg: Option<Alg>,
    /// Refresh responses carry no new ID token (OIDC Core §12.2); by default they do.
    pub no_refresh_id_token: bool,
}

/// The settings an existing client's administrator may change. Whether it is public, its
/// API access and its introspection right are fixed at registration.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty: authorization_code and refresh_token.
    pub grant_types: Vec<String>,
    /// Empty: openid profile email offline_access.
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub require_mfa: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAdminError {
    /// A setting breaks a rule; `field` names it (the CLI flag without `--`, the form field).
    #[error("--{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("a client with that id exists")]
    Taken,
    #[error("no such client")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ClientAdminError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }

    /// For a caller with no answer of its own: an internal error as it came, any other
    /// refusal as an error of its own.
    pub fn into_internal(self) -> anyhow::Error {
        match self {
            Self::Internal(e) => e,
            other => anyhow::Error::new(other),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ClientAdminError {
    ClientAdminError::invalid(field, message)
}

fn uris(raw: &[String], field: &'static str) -> Result<Vec<RedirectUri>, ClientAdminError> {
    raw.iter().map(|r| RedirectUri::register(r).map_err(|m| ClientAdminError::invalid(field, m))).collect()
}

impl Provider {
    /// Every rule a client's settings must meet, applied to `new`; the client it describes
    /// (without a secret).
    pub(super) fn checked_client(&self, new: &NewClient) -> Result<Client, ClientAdminError> {
        for aud in &new.audiences {
            if self.reserved_audience(aud) {
                return Err(invalid(
                    "audience",
                    format!("{aud:?} is reserved (this issuer and its own API); use --api-access for the API"),
                ));
            }
        }
        if new.public && new.introspect_any {
            return Err(invalid("introspect-any", "public clients cannot introspect tokens"));
        }
        let redirect_uris = uris(&new.redirect_uris, "redirect-uri")?;
        let post_logout_redirect_uris = uris(&new.post_logout_redirect_uris, "post-logout-redirect-uri")?;
        let grant_names = if new.grant_types.is_empty() {
            vec!["authorization_code".to_string(), "refresh_token".to_string()]
        } else {
            new.grant_types.clone()
        };
        let mut grant_types = Vec::new();
        for g in &grant_names {
            let grant =
                GrantType::from_setting(g).ok_or_else(|| invalid("grant", format!("unknown grant type {g:?}")))?;
            if !grant_types.contains(&grant) {
                grant_types.push(grant);
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(invalid("redirect-uri", "the authorization_code grant needs at least one redirect URI"));
        }
        if new.public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(invalid("grant", "public clients cannot use client_credentials"));
        }
        let scope_text = if new.scopes.is_empty() { OIDC_SCOPES.join(" ") } else { new.scopes.join(" ") };
        let scopes = Scope::parse(&scope_text).map_err(|m| invalid("scope", m))?;
        if scopes.contains(ADMIN) && !new.api_access {
            return Err(invalid("scope", "admin needs --api-access (the admin API is for clients you allow it)"));
        }
        Ok(Client {
            id: new.id.clone(),
            name: if new.name.trim().is_empty() { new.id.clone() } else { new.name.trim().to_string() },
            secret_hash: None,
            public: new.public,
            first_party: new.first_party,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            audiences: new.audiences.clone(),
            require_mfa: new.require_mfa,
            api_access: new.api_access,
            introspect_any: new.introspect_any,
            id_token_alg: new.id_token_alg,
            id_token_on_refresh: !new.no_refresh_id_token,
        })
    }

    /// Registers a client; confidential clients get a secret, returned once.
    pub async fn create_client(
        &self,
        actor: &Actor,
        new: NewClient,
    ) -> Result<(Client, Option<Secret>), ClientAdminError> {
        check_new_client_id(&new.id).map_err(|m| ClientAdminError::invalid("id", m))?;
        let mut client = self.checked_client(&new)?;
        let secret = (!new.public).then(|| Secret::new(random_token()));
        client.secret_hash = secret.as_ref().map(|s| token_hash(s.expose()));
        let tx = self.db.begin().await?;
        if !clients::insert(&tx, &client, self.clock.unix()).await? {
            return Err(ClientAdminError::Taken);
        }
        let event = Event::new(EventKind::ClientCreated)
            .actor(actor.clone())
            .client(&client.id)
            .detail("public", client.public)
            .detail("grant_types", grant_names(&client));
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        Ok((client, secret))
    }

    /// Changes a client's settings under the same rules as registration; the event names
    /// the settings that changed. No change, no event.
    pub async fn update_client(
        &self,
        actor: &Actor,
        id: &str,
        changes: ClientChanges,
    ) -> Result<Client, ClientAdminError> {
        let tx = self.db.begin().await?;
        let old = clients::find(&tx, id).await?.ok_or(ClientAdminError::NotFound)?;
        let new = NewClient {
            id: old.id.clone(),
            name: changes.name,
            public: old.public,
            first_party: changes.first_party,
            redirect_uris: changes.redirect_uris,
            post_logout_redirect_uris: changes.post_logout_redirect_uris,
            grant_types: changes.grant_types,
            scopes: changes.scopes,
            audiences: old.audiences.clone(),
            require_mfa: changes.require_mfa,
            api_access: old.api_access,
            introspect_any: old.introspect_any,
            id_token_alg: old.id_token_alg,
            no_refresh_id_token: !old.id_token_on_refresh,
        };
        let mut client = self.checked_client(&new)?;
        client.secret_hash = old.secret_hash.clone();
        let changed = changed_fields(&old, &client);
        if changed.is_empty() {
            return Ok(old);
        }
        clients::update(&tx, &client, self.clock.unix()).await?;
        let event = Event::new(EventKind::ClientChanged).actor(actor.clone()).client(id).detail("changed", changed);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.clients.forget(id);
        Ok(client)
    }

    /// Removes a client; its grants and tokens go with it.
    pub async fn delete_client(&self, actor: &Actor, id: &str) -> Result<(), ClientAdminError> {
        let tx = self.db.begin().await?;
        if !clients::remove(&tx, id).await? {
            return Err(ClientAdminError::NotFound);
        }
        audit::append(&tx, self.clock.now_ms(), &Event::new(EventKind::ClientDeleted).actor(actor.clone()).client(id))
            .await?;
        tx.commit().await?;
        self.clients.forget(id);
        Ok(())
    }

    /// A new secret for a confidential client (returned once); the old one stops working at once.
    pub async fn rotate_client_secret(&self, actor: &Actor, id: &str) -> Result<Secret, ClientAdminError> {
        let secret = Secret::new(random_token());
        let tx = self.db.begin().await?;
        if !clients::set_secret_hash(&tx, id, &token_hash(secret.expose()), self.clock.unix()).await? {
            return Err(ClientAdminError::NotFound);
        }
        let event = Event::new(EventKind::ClientSecretRotated).actor(actor.clone()).client(id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.clients.forget(id);
        Ok(secret)
    }
}

pub(super) fn grant_names(c: &Client) -> Vec<&'static str> {
    c.grant_types.iter().map(|g| g.as_str()).collect()
}

/// The names of the settings that differ between `old` and `new`.
pub(super) fn changed_fields(old: &Client, new: &Client) -> Vec<&'static str> {
    let texts = |v: &[RedirectUri]| v.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>();
    let scopes = |c: &Client| c.scopes.iter().map(str::to_string).collect::<Vec<_>>();
    let mut changed = Vec::new();
    for (name, differs) in [
        ("name", old.name != new.name),
        ("redirect_uris", texts(&old.redirect_uris) != texts(&new.redirect_uris)),
        ("post_logout_redirect_uris", texts(&old.post_logout_redirect_uris) != texts(&new.post_logout_redirect_uris)),
        ("grant_types", old.grant_types != new.grant_types),
        ("scopes", scopes(old) != scopes(new)),
        ("first_party", old.first_party != new.first_party),
        ("require_mfa", old.require_mfa != new.require_mfa),
    ] {
        if differs {
            changed.push(name);
        }
    }
    changed
}
