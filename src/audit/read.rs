//! Reading the audit log: a page newest first with the cursor of the next page (the admin
//! API), and the tail an operator follows (the CLI). Read-only: the log has no write,
//! update or delete operation beyond `store::audit::append` and the retention purge.

use super::{Filter, MAX_PAGE, Recorded};
use crate::store::{Db, audit};

/// One page of events, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub events: Vec<Recorded>,
    /// The id of the page's last event when older matching events exist; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A page for `filter` (its `limit` clamped to 1..=[`MAX_PAGE`]). `next_cursor` is set only
/// when another event lies beyond the page, so the last page never points at an empty one.
pub async fn page(db: &Db, filter: &Filter) -> anyhow::Result<Page> {
    let filter = Filter { limit: filter.limit.clamp(1, MAX_PAGE), ..filter.clone() };
    let events = audit::list(db, &filter).await?;
    let next_cursor = match events.last() {
        Some(last) if events.len() == filter.limit as usize => {
            let beyond = Filter { before: Some(last.id.clone()), limit: 1, ..filter.clone() };
            if audit::list(db, &beyond).await?.is_empty() { None } else { Some(last.id.clone()) }
        }
        _ => None,
    };
    Ok(Page { events, next_cursor })
}

/// The latest `filter.limit` events, oldest first (what `events tail` prints first).
pub async fn latest(db: &Db, filter: &Filter) -> anyhow::Result<Vec<Recorded>> {
    let mut events = audit::list(db, &Filter { before: None, ..filter.clone() }).await?;
    events.reverse();
    Ok(events)
}

/// Events at or after `since_ms`, oldest first (what `events tail --follow` polls).
pub async fn since(db: &Db, filter: &Filter, since_ms: i64) -> anyhow::Result<Vec<Recorded>> {
    audit::since(db, filter, since_ms).await
}

/// Is `cursor` one of our event ids (a UUID)? Anything else is the caller's mistake.
pub fn valid_cursor(cursor: &str) -> bool {
    uuid::Uuid::try_parse(cursor).is_ok_and(|u| u.hyphenated().to_string() == cursor)
}
