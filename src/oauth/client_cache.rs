//! Clients change rarely and are read on every token request, so each node keeps what it
//! read for a few seconds. Changes made through this node (add, remove, new secret) clear
//! the entry at once; a change made on another node is seen here within
//! [`CLIENT_CACHE_SECS`]. Unknown ids are not cached, so a new client works at once.

use std::collections::HashMap;
use std::sync::RwLock;

use super::client::Client;

/// How long a node trusts a client it read.
pub const CLIENT_CACHE_SECS: i64 = 5;
/// Entries kept before the cache starts afresh (bounds memory against id spraying, which
/// cannot fill it anyway: only clients that exist are cached).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Client, i64)>>,
}

impl ClientCache {
    /// The cached client, if read less than [`CLIENT_CACHE_SECS`] before `now`.
    pub fn get(&self, id: &str, now: i64) -> Option<Client> {
        let entries = self.entries.read().ok()?;
        let (client, read_at) = entries.get(id)?;
        (now - read_at < CLIENT_CACHE_SECS && now >= *read_at).then(|| client.clone())
    }

    pub fn put(&self, client: &Client, now: i64) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(client.id.clone(), (client.clone(), now));
        }
    }

    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Client {
        Client {
            id: id.into(),
            name: String::new(),
            secret_hash: None,
            public: true,
            first_party: false,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: crate::oauth::scope::Scope::from_names(["openid"]),
            audiences: Vec::new(),
            require_mfa: false,
            api_access: false,
            introspect_any: false,
            id_token_alg: None,
            id_token_on_refresh: true,
        }
    }

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let cache = ClientCache::default();
        cache.put(&client("a"), 100);
        assert!(cache.get("a", 100).is_some());
        assert!(cache.get("a", 104).is_some());
        assert!(cache.get("a", 105).is_none(), "stale after CLIENT_CACHE_SECS");
        assert!(cache.get("a", 99).is_none(), "a clock that went back does not extend trust");
        cache.put(&client("a"), 200);
        cache.forget("a");
        assert!(cache.get("a", 200).is_none());
        assert!(cache.get("b", 200).is_none());
    }
}
