//! The `audit_deliveries` table: the webhooks' durable queue, one row per event and endpoint.
//! Rows are queued by `audit::append` in the event's transaction; the worker claims due rows
//! of one endpoint with a lease in one conditional UPDATE (a row whose lease is live is not
//! claimable, so nodes sharing the table never send it twice at once), then settles each with
//! a statement that only its lease owner's call changes. Times are Unix milliseconds.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_all};
use crate::audit::webhook::EndpointId;

/// One delivery claimed by a worker.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

/// Queues `event_id` for each endpoint, due at once. One statement for all of them.
pub async fn enqueue(s: &impl Store, event_id: &str, endpoints: &[&EndpointId], now_ms: i64) -> anyhow::Result<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut values: Vec<sea_orm::Value> = vec![event_id.into(), now_ms.into()];
    let mut rows = Vec::new();
    for endpoint in endpoints {
        values.push(uuid::Uuid::now_v7().to_string().into());
        values.push(endpoint.as_str().into());
        let n = values.len();
        rows.push(format!("(${}, $1, ${n}, 'pending', 0, $2, 0, $2)", n - 1));
    }
    let sql = format!(
        "INSERT INTO audit_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at_ms, leased_until_ms, created_at_ms) \
         VALUES {}",
        rows.join(", ")
    );
    execute(s, &sql, values).await.context("queueing audit webhook deliveries")?;
    Ok(())
}

/// Claims up to `limit` due deliveries of `endpoint` for `owner` until `leased_until_ms`,
/// oldest event first, counting an attempt for each.
pub async fn claim_due(
    db: &Db,
    endpoint: &EndpointId,
    now_ms: i64,
    leased_until_ms: i64,
    owner: &str,
    limit: u64,
) -> anyhow::Result<Vec<Claimed>> {
    // A read first: an idle queue costs no write (on SQLite the write gate stays free).
    let due: Option<DueRow> = super::query_one(
        db,
        "SELECT id FROM audit_deliveries WHERE endpoint_id = $1 AND status = 'pending' \
         AND next_attempt_at_ms <= $2 AND leased_until_ms <= $2 LIMIT 1",
        vec![endpoint.as_str().into(), now_ms.into()],
    )
    .await
    .context("looking for due audit webhook deliveries")?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let mut claimed: Vec<Claimed> = query_all(
        db,
        "UPDATE audit_deliveries SET leased_until_ms = $1, lease_owner = $2, attempts = attempts + 1 \
         WHERE status = 'pending' AND leased_until_ms <= $3 AND id IN ( \
             SELECT id FROM audit_deliveries WHERE endpoint_id = $4 AND status = 'pending' \
             AND next_attempt_at_ms <= $3 AND leased_until_ms <= $3 ORDER BY event_id LIMIT $5) \
         RETURNING id, event_id, attempts",
        vec![leased_until_ms.into(), owner.into(), now_ms.into(), endpoint.as_str().into(), (limit as i64).into()],
    )
    .await
    .context("claiming audit webhook deliveries")?;
    claimed.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    Ok(claimed)
}

/// Delivered (a 2xx answer). False when `owner` no longer held the lease.
pub async fn mark_delivered(db: &Db, id: &str, owner: &str, now_ms: i64) -> anyhow::Result<bool> {
    let n = execute(
        db,
        "UPDATE audit_deliveries SET status = 'delivered', delivered_at_ms = $1, leased_until_ms = 0, \
         lease_owner = NULL, last_error = NULL WHERE id = $2 AND lease_owner = $3 AND status = 'pending'",
        vec![now_ms.into(), id.into(), owner.into()],
    )
    .await
    .context("marking an audit webhook delivered")?;
    Ok(n == 1)
}

/// A failed attempt: due again at `next_attempt_at_ms`.
pub async fn mark_retry(db: &Db, id: &str, owner: &str, next_attempt_at_ms: i64, error: &str) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE audit_deliveries SET next_attempt_at_ms = $1, leased_until_ms = 0, lease_owner = NULL, last_error = $2 \
         WHERE id = $3 AND lease_owner = $4 AND status = 'pending'",
        vec![next_attempt_at_ms.into(), error.into(), id.into(), owner.into()],
    )
    .await
    .context("scheduling an audit webhook retry")?;
    Ok(())
}

/// Given up after the configured number of attempts.
pub async fn mark_failed(db: &Db, id: &str, owner: &str, error: &str) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE audit_deliveries SET status = 'failed', leased_until_ms = 0, lease_owner = NULL, last_error = $1 \
         WHERE id = $2 AND lease_owner = $3 AND status = 'pending'",
        vec![error.into(), id.into(), owner.into()],
    )
    .await
    .context("marking an audit webhook failed")?;
    Ok(())
}

/// Hands a claimed delivery back unattempted (its endpoint just failed, or the worker stops).
pub async fn release(db: &Db, id: &str, owner: &str) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE audit_deliveries SET leased_until_ms = 0, lease_owner = NULL, attempts = attempts - 1 \
         WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        vec![id.into(), owner.into()],
    )
    .await
    .context("releasing an audit webhook delivery")?;
    Ok(())
}

/// Housekeeping: delivered rows go after a while (undelivered ones go with their event).
pub async fn purge_delivered(db: &Db, before_ms: i64) -> anyhow::Result<u64> {
    execute(
        db,
        "DELETE FROM audit_deliveries WHERE status = 'delivered' AND delivered_at_ms < $1",
        vec![before_ms.into()],
    )
    .await
    .context("purging delivered audit webhooks")
}

/// A delivery's state, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct State {
    pub endpoint_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
}

/// Every delivery of one event.
pub async fn of_event(db: &Db, event_id: &str) -> anyhow::Result<Vec<State>> {
    let rows: Vec<State> = query_all(
        db,
        "SELECT endpoint_id, status, attempts, next_attempt_at_ms, last_error FROM audit_deliveries \
         WHERE event_id = $1 ORDER BY endpoint_id",
        vec![event_id.into()],
    )
    .await
    .context("reading audit webhook deliveries")?;
    Ok(rows)
}

/// Deliveries waiting (pending), for the metrics page and operators.
pub async fn pending_count(db: &Db) -> anyhow::Result<i64> {
    let row: Option<super::Count> =
        super::query_one(db, "SELECT COUNT(*) AS n FROM audit_deliveries WHERE status = 'pending'", vec![])
            .await
            .context("counting pending audit webhooks")?;
    Ok(row.map_or(0, |c| c.n))
}

/// A due delivery's id (only whether one exists matters).
#[derive(Debug, FromQueryResult)]
struct DueRow {
    #[allow(dead_code)]
    id: String,
}
