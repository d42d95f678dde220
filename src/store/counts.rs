//! Counts for the admin console's dashboard: accounts, live signed-in sessions, clients and
//! audit events of a kind since a time. Each is one `COUNT(*)`.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Store, query_one};
use crate::audit::EventKind;

#[derive(Debug, FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>, what: &'static str) -> anyhow::Result<i64> {
    let row: Option<Count> = query_one(s, sql, values).await.with_context(|| format!("counting {what}"))?;
    Ok(row.map_or(0, |c| c.n))
}

pub async fn users(s: &impl Store) -> anyhow::Result<i64> {
    count(s, "SELECT COUNT(*) AS n FROM users", vec![], "users").await
}

/// Sessions with a signed-in user that have not expired at `now` (Unix seconds).
pub async fn active_sessions(s: &impl Store, now: i64) -> anyhow::Result<i64> {
    count(
        s,
        "SELECT COUNT(*) AS n FROM sessions WHERE user_id IS NOT NULL AND expires_at > $1",
        vec![now.into()],
        "sessions",
    )
    .await
}

pub async fn clients(s: &impl Store) -> anyhow::Result<i64> {
    count(s, "SELECT COUNT(*) AS n FROM oauth_clients", vec![], "clients").await
}

/// Audit events of `kind` at or after `since_ms`.
pub async fn events_since(s: &impl Store, kind: EventKind, since_ms: i64) -> anyhow::Result<i64> {
    count(
        s,
        "SELECT COUNT(*) AS n FROM audit_events WHERE kind = $1 AND at_ms >= $2",
        vec![kind.as_str().into(), since_ms.into()],
        "audit events",
    )
    .await
}
