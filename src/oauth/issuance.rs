//! Tokens issued on the hot paths, counted for the audit log instead of recorded one by one.
//!
//! Every authorization-code exchange is its own `token.issued` event (it is where a person's
//! authorization turns into tokens, and it happens once per sign-in). Refreshes and
//! client-credentials requests are the hot paths (many per client per minute, and a refresh
//! must stay a couple of statements): each success adds one to an in-memory tally per
//! (grant type, client), and housekeeping (every ten minutes, and at shutdown) writes one
//! `token.issued` event per pair with `detail {grant_type, count, from_ms, to_ms}`. Refresh
//! reuse and code replay are always recorded at once (see the grants). A node that crashes
//! loses the tallies since its last flush: the counts are a volume record, not evidence.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context;

use super::client::GrantType;
use crate::audit::{Actor, Event, EventKind};
use crate::store::{Db, audit};

/// The counted grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    RefreshToken,
    ClientCredentials,
}

impl Counted {
    const ALL: [Counted; 2] = [Counted::RefreshToken, Counted::ClientCredentials];

    fn index(self) -> usize {
        self as usize
    }

    fn grant_type(self) -> GrantType {
        match self {
            Counted::RefreshToken => GrantType::RefreshToken,
            Counted::ClientCredentials => GrantType::ClientCredentials,
        }
    }
}

/// Issuances of one grant type to one client since the last flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.from_ms = self.from_ms.min(other.from_ms);
        self.to_ms = self.to_ms.max(other.to_ms);
    }
}

/// The tallies of one node, by client and grant type.
#[derive(Debug, Default)]
pub struct IssuanceCounter {
    by_client: Mutex<HashMap<String, [Option<Tally>; 2]>>,
}

impl IssuanceCounter {
    /// One more issuance (a short lock; the client id is copied only the first time).
    pub fn count(&self, grant: Counted, client_id: &str, at_ms: i64) {
        let one = Tally { count: 1, from_ms: at_ms, to_ms: at_ms };
        self.merge(grant, client_id, one);
    }

    fn merge(&self, grant: Counted, client_id: &str, tally: Tally) {
        let mut map = self.by_client.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let slots = match map.get_mut(client_id) {
            Some(slots) => slots,
            None => map.entry(client_id.to_string()).or_default(),
        };
        match &mut slots[grant.index()] {
            Some(t) => t.add(tally),
            empty => *empty = Some(tally),
        }
    }

    /// Everything counted so far, leaving the counter empty.
    pub fn take(&self) -> Vec<(Counted, String, Tally)> {
        let map = std::mem::take(&mut *self.by_client.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut out = Vec::new();
        for (client, slots) in map {
            for grant in Counted::ALL {
                if let Some(t) = slots[grant.index()] {
                    out.push((grant, client.clone(), t));
                }
            }
        }
        out.sort_by(|a, b| (&a.1, a.0.index()).cmp(&(&b.1, b.0.index())));
        out
    }

    /// Puts tallies back (a flush that could not be written).
    pub fn restore(&self, tallies: Vec<(Counted, String, Tally)>) {
        for (grant, client, tally) in tallies {
            self.merge(grant, &client, tally);
        }
    }
}

impl IssuanceCounter {
    /// Writes one `token.issued` event per (grant type, client) counted since the last flush,
    /// in one transaction; when that fails the tallies go back for the next flush.
    pub async fn flush(&self, db: &Db, now_ms: i64) -> anyhow::Result<usize> {
        let tallies = self.take();
        if tallies.is_empty() {
            return Ok(0);
        }
        match write(db, now_ms, &tallies).await {
            Ok(()) => Ok(tallies.len()),
            Err(e) => {
                self.restore(tallies);
                Err(e)
            }
        }
    }
}

async fn write(db: &Db, now_ms: i64, tallies: &[(Counted, String, Tally)]) -> anyhow::Result<()> {
    let tx = db.begin().await?;
    for (grant, client, t) in tallies {
        let event = Event::new(EventKind::TokenIssued)
            .actor(Actor::System)
            .client(client.as_str())
            .detail("grant_type", grant.grant_type().as_str())
            .detail("count", t.count)
            .detail("from_ms", t.from_ms)
            .detail("to_ms", t.to_ms);
        audit::append(&tx, now_ms, &event).await?;
    }
    tx.commit().await.context("writing the token counts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_per_grant_and_client_and_a_take_starts_afresh() {
        let counter = IssuanceCounter::default();
        counter.count(Counted::RefreshToken, "shop", 3_000);
        counter.count(Counted::RefreshToken, "shop", 1_000);
        counter.count(Counted::ClientCredentials, "shop", 2_000);
        counter.count(Counted::RefreshToken, "news", 5_000);
        let taken = counter.take();
        assert_eq!(
            taken,
            vec![
                (Counted::RefreshToken, "news".into(), Tally { count: 1, from_ms: 5_000, to_ms: 5_000 }),
                (Counted::RefreshToken, "shop".into(), Tally { count: 2, from_ms: 1_000, to_ms: 3_000 }),
                (Counted::ClientCredentials, "shop".into(), Tally { count: 1, from_ms: 2_000, to_ms: 2_000 }),
            ]
        );
        assert!(counter.take().is_empty());

        counter.count(Counted::RefreshToken, "shop", 9_000);
        counter.restore(taken);
        let again = counter.take();
        assert_eq!(again[1], (Counted::RefreshToken, "shop".into(), Tally { count: 3, from_ms: 1_000, to_ms: 9_000 }));
    }
}
