//! Clients as a configuration file declares them (`portcullis apply`): checked by exactly the
//! rules of [`super::clients`] (the CLI's and the console's), compared field by field with
//! what is stored, and written on the apply's one transaction with their audit events
//! (`client.created`, `client.changed`, `client.secret_rotated`, `client.deleted`). The
//! caller owns the transaction and the lock, and forgets cached clients after the commit.

use super::client::{Client, check_new_client_id};
use super::clients::{ClientAdminError, NewClient, changed_fields, grant_names};
use super::provider::Provider;
use crate::audit::{Actor, Event, EventKind};
use crate::secret::{Secret, constant_time_eq, token_hash};
use crate::store::{Tx, audit, clients};

/// The manager mark of clients a configuration file declares.
pub const MANAGED_BY_CONFIG: &str = "config";

/// Clients Portcullis registers itself (the JSON API's `portcullis-api`): never declared,
/// drift or pruned, never exported.
pub fn is_built_in(id: &str) -> bool {
    id == super::first_party::API_CLIENT_ID
}

/// The settings of a stored client that `new` would change, by their file key names
/// (`name`, `redirect_uris`, …, `audiences`, `api_access`, `introspect_any`, `secret`, and
/// `public`, which no update may change).
pub fn declared_changes(old: &Client, new: &Client) -> Vec<&'static str> {
    let mut changed = changed_fields(old, new);
    let secret_differs = match (&old.secret_hash, &new.secret_hash) {
        (Some(a), Some(b)) => !constant_time_eq(a, b),
        (None, None) => false,
        _ => true,
    };
    for (name, differs) in [
        ("audiences", old.audiences != new.audiences),
        ("api_access", old.api_access != new.api_access),
        ("introspect_any", old.introspect_any != new.introspect_any),
        ("id_token_signed_response_alg", old.id_token_alg != new.id_token_alg),
        ("id_token_on_refresh", old.id_token_on_refresh != new.id_token_on_refresh),
        ("public", old.public != new.public),
        ("secret", secret_differs),
    ] {
        if differs {
            changed.push(name);
        }
    }
    changed
}

impl Provider {
    /// The client `new` declares under the rules of registration, with `secret` stored as
    /// its hash (a confidential client's; none for a public one).
    pub fn declared_client(&self, new: &NewClient, secret: Option<&Secret>) -> Result<Client, ClientAdminError> {
        check_new_client_id(&new.id).map_err(|m| ClientAdminError::Invalid { field: "id", message: m.into() })?;
        if is_built_in(&new.id) {
            let message = "reserved: Portcullis registers this client itself (its own JSON API)".into();
            return Err(ClientAdminError::Invalid { field: "id", message });
        }
        let mut client = self.checked_client(new)?;
        client.secret_hash = secret.map(|s| token_hash(s.expose()));
        Ok(client)
    }

    /// Registers a declared client on `tx`, marked as managed by configuration.
    pub async fn create_declared(&self, tx: &Tx, actor: &Actor, client: &Client) -> Result<(), ClientAdminError> {
        if !clients::insert(tx, client, self.clock.unix()).await? {
            return Err(ClientAdminError::Taken);
        }
        clients::set_manager(tx, &client.id, Some(MANAGED_BY_CONFIG)).await?;
        let event = Event::new(EventKind::ClientCreated)
            .actor(actor.clone())
            .client(&client.id)
            .detail("public", client.public)
            .detail("grant_types", grant_names(client));
        audit::append(tx, self.clock.now_ms(), &event).await?;
        Ok(())
    }

    /// Writes a declared client over the stored one on `tx` (`changed`: from
    /// [`declared_changes`], plus `managed` when the client was the console's or the CLI's
    /// until now). A changed secret is recorded as `client.secret_rotated`.
    pub async fn update_declared(
        &self,
        tx: &Tx,
        actor: &Actor,
        client: &Client,
        changed: &[&'static str],
    ) -> Result<(), ClientAdminError> {
        if changed.contains(&"public") {
            return Err(ClientAdminError::Invalid {
                field: "public",
                message: "a client cannot change between public and confidential".into(),
            });
        }
        if !clients::replace(tx, client, self.clock.unix()).await? {
            return Err(ClientAdminError::NotFound);
        }
        clients::set_manager(tx, &client.id, Some(MANAGED_BY_CONFIG)).await?;
        let settings: Vec<&str> = changed.iter().copied().filter(|c| *c != "secret").collect();
        let now = self.clock.now_ms();
        if !settings.is_empty() {
            let event = Event::new(EventKind::ClientChanged)
                .actor(actor.clone())
                .client(&client.id)
                .detail("changed", settings);
            audit::append(tx, now, &event).await?;
        }
        if changed.contains(&"secret") {
            let event = Event::new(EventKind::ClientSecretRotated).actor(actor.clone()).client(&client.id);
            audit::append(tx, now, &event).await?;
        }
        Ok(())
    }

    /// Removes a client on `tx` (its grants and tokens go with it).
    pub async fn delete_declared(&self, tx: &Tx, actor: &Actor, id: &str) -> Result<(), ClientAdminError> {
        if !clients::remove(tx, id).await? {
            return Err(ClientAdminError::NotFound);
        }
        audit::append(tx, self.clock.now_ms(), &Event::new(EventKind::ClientDeleted).actor(actor.clone()).client(id))
            .await?;
        Ok(())
    }

    /// Drops this node's cached copy of a client (after a commit changed it).
    pub fn forget_client(&self, id: &str) {
        self.clients.forget(id);
    }
}
