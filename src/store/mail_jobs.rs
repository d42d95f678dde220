//! The `mail_jobs` table: work whose outcome must not show on the request path, decided by
//! the mail worker instead (a password-reset request: does the address have an account?).
//! A job carries only a sealed payload. Workers claim due jobs with a lease (a conditional
//! update, so nodes share the table); finishing a job deletes it, and only the caller whose
//! delete removed the row may act on it.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_all, query_one};

/// A job as stored.
#[derive(Clone, FromQueryResult)]
pub struct StoredJob {
    pub id: String,
    pub kind: String,
    /// The sealed payload (see `mail::Outbox::open_job`).
    pub sealed: String,
    pub attempts: i32,
}

/// A candidate row's id.
#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: String,
}

impl std::fmt::Debug for StoredJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredJob").field("id", &self.id).field("kind", &self.kind).finish_non_exhaustive()
    }
}

pub async fn enqueue(s: &impl Store, job: &StoredJob, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO mail_jobs (id, kind, sealed, attempts, next_attempt_at, locked_until, created_at) \
         VALUES ($1, $2, $3, 0, $4, 0, $4)",
        vec![job.id.clone().into(), job.kind.clone().into(), job.sealed.clone().into(), now.into()],
    )
    .await
    .context("queueing a mail job")?;
    Ok(())
}

/// Claims up to `limit` due jobs of `kind` for `lease_secs`, oldest first, counting an attempt
/// for each.
pub async fn claim_due(db: &Db, kind: &str, now: i64, lease_secs: i64, limit: u64) -> anyhow::Result<Vec<StoredJob>> {
    let candidates: Vec<IdRow> = query_all(
        db,
        "SELECT id FROM mail_jobs WHERE kind = $1 AND next_attempt_at <= $2 AND locked_until <= $2 \
         ORDER BY next_attempt_at, id LIMIT $3",
        vec![kind.into(), now.into(), (limit as i64).into()],
    )
    .await
    .context("finding due mail jobs")?;
    let mut claimed = Vec::new();
    for row in candidates {
        let row: Option<StoredJob> = query_one(
            db,
            "UPDATE mail_jobs SET locked_until = $1, attempts = attempts + 1 WHERE id = $2 AND locked_until <= $3 \
             RETURNING id, kind, sealed, attempts",
            vec![(now + lease_secs).into(), row.id.into(), now.into()],
        )
        .await
        .context("claiming a mail job")?;
        claimed.extend(row);
    }
    Ok(claimed)
}

/// Removes the job; true for the one caller whose statement removed it. Inside the
/// transaction that acts on the job, make this its first statement.
pub async fn finish(s: &impl Store, id: &str) -> anyhow::Result<bool> {
    let removed =
        execute(s, "DELETE FROM mail_jobs WHERE id = $1", vec![id.into()]).await.context("finishing a mail job")?;
    Ok(removed == 1)
}
