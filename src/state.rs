//! What every handler gets: cheap-to-clone handles, no globals. Built by `AppState::build`
//! (in `startup.rs`).

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::{IpNet, Settings};
use crate::identity::accounts::Accounts;
use crate::identity::devices::Devices;
use crate::mail::Outbox;
use crate::oauth::provider::Provider;
use crate::secret::Secret;
use crate::store::Db;
use crate::store::sessions::SessionRepo;

/// Axum clones the state for every extractor and middleware of every request, so it is one
/// reference-counted pointer (a profile of the discovery endpoint showed a fifth of its CPU
/// in cloning and dropping these fields one by one).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug)]
pub struct Shared {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub accounts: Accounts,
    pub outbox: Outbox,
    pub provider: Provider,
    /// The discovery document, serialized once.
    pub discovery: axum::body::Bytes,
    pub sessions: SessionRepo,
    /// Where each person is signed in, and the apps they let in.
    pub devices: Devices,
    pub clock: SharedClock,
    /// Root key material (`SECRET_KEY` or the generated one).
    pub secret_key: Secret,
    /// The key of the pages' stateless CSRF tokens (see `http::csrf`), derived from it.
    pub csrf_key: crate::crypto::KeyedHash,
    pub trusted_proxies: Arc<[IpNet]>,
    /// Product name, brand assets and template overrides, loaded at start.
    pub branding: Arc<crate::branding::Branding>,
}
