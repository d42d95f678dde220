//! The apps a person has let in: every client holding a live grant or a remembered consent
//! for them (the built-in API client is the person's own sign-ins, not an app), and removing
//! one's access: every grant of that person and client is revoked (its refresh and access
//! tokens stop working at once) and the remembered consent is forgotten (the next
//! authorization asks again), in one transaction with one `consent.revoked` event.

use std::collections::BTreeMap;

use serde::Serialize;

use super::devices::Devices;
use super::user::UserId;
use crate::audit::{Actor, Event, EventKind};
use crate::store::{audit, clients, connected_apps};

/// A client holding access to a person's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectedApp {
    pub client_id: String,
    /// The client's display name.
    pub name: String,
    /// What it may do: the remembered consent's scopes, else those of its live grants.
    pub scopes: Vec<String>,
    /// When access was first granted (Unix seconds): the consent, else the oldest live grant.
    pub granted_at: i64,
}

/// Why access could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The client holds neither a live grant nor a consent of this person.
    #[error("no such connected app")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn scopes_of(scope: &str) -> impl Iterator<Item = String> + '_ {
    scope.split_ascii_whitespace().map(str::to_string)
}

impl Devices {
    /// The clients holding a live grant or a remembered consent of `user`, by name.
    pub async fn apps(&self, user: UserId) -> anyhow::Result<Vec<ConnectedApp>> {
        let now = self.clock.unix();
        let mut by_client: BTreeMap<String, (Vec<String>, i64, bool)> = BTreeMap::new();
        for consent in connected_apps::consents(&self.db, user, self.own_client).await? {
            by_client.insert(consent.client_id, (scopes_of(&consent.scope).collect(), consent.granted_at, true));
        }
        let live = connected_apps::live_grants(&self.db, user, self.own_client, now - self.access_token_ttl_secs, now);
        for grant in live.await? {
            let entry = by_client.entry(grant.client_id).or_insert_with(|| (Vec::new(), grant.created_at, false));
            if !entry.2 {
                entry.1 = entry.1.min(grant.created_at);
                for scope in scopes_of(grant.scope.as_deref().unwrap_or_default()) {
                    if !entry.0.contains(&scope) {
                        entry.0.push(scope);
                    }
                }
            }
        }
        let mut apps = Vec::with_capacity(by_client.len());
        for (client_id, (scopes, granted_at, _)) in by_client {
            // A deleted client's consent opens nothing; it is not listed.
            let Some(client) = clients::find(&self.db, &client_id).await? else { continue };
            apps.push(ConnectedApp { client_id, name: client.name, scopes, granted_at });
        }
        apps.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.client_id.cmp(&b.client_id)));
        Ok(apps)
    }

    /// Removes `client_id`'s access to `user`'s account on behalf of `by`: revokes its grants
    /// (with their refresh and access tokens) and forgets the consent.
    pub async fn remove_app(&self, by: Actor, user: UserId, client_id: &str) -> Result<(), AppError> {
        if client_id == self.own_client {
            return Err(AppError::NotFound);
        }
        let now = self.clock.unix();
        let tx = self.db.begin().await?;
        let grants = connected_apps::revoke_grants(&tx, user, client_id, now).await?;
        let consents = connected_apps::forget_consent(&tx, user, client_id).await?;
        if grants == 0 && consents == 0 {
            return Err(AppError::NotFound);
        }
        let event = Event::new(EventKind::ConsentRevoked)
            .actor(by)
            .user(user)
            .client(client_id)
            .detail("grants_revoked", grants)
            .detail("consent_forgotten", consents > 0);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user, client_id, grants, "app access removed");
        Ok(())
    }
}
