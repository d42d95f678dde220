//! The `mail_outbox` table. Messages are written in the transaction of the change that
//! causes them; the worker claims due rows with a lease (a conditional update), so several
//! nodes can deliver from one table without sending a message twice at once.
//!
//! A message waits sealed (see `mail::Outbox`): the `sealed` column holds the bodies encrypted,
//! and it is blanked once the message is delivered or given up, so no row lets a database
//! reader follow a live link. `body_text` / `body_html` are only read for rows queued before
//! sealing existed (and blanked the same way).

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Count, Db, Store, execute, query_all, query_one};

/// A message waiting for delivery, as stored.
#[derive(Clone, FromQueryResult)]
pub struct StoredMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    /// The sealed bodies; `None` only for rows queued before sealing.
    pub sealed: Option<String>,
    /// Cleartext bodies of such older rows (empty for sealed ones).
    #[sea_orm(from_alias = "body_text")]
    pub legacy_text: String,
    #[sea_orm(from_alias = "body_html")]
    pub legacy_html: String,
    pub attempts: i32,
}

/// A candidate row's id.
#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: String,
}

impl std::fmt::Debug for StoredMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredMail").field("id", &self.id).field("attempts", &self.attempts).finish_non_exhaustive()
    }
}

pub async fn enqueue(s: &impl Store, mail: &StoredMail, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO mail_outbox (id, recipient, subject, body_text, body_html, sealed, status, attempts, next_attempt_at, locked_until, created_at) \
         VALUES ($1, $2, $3, '', '', $4, 'pending', 0, $5, 0, $5)",
        vec![
            mail.id.clone().into(),
            mail.recipient.clone().into(),
            mail.subject.clone().into(),
            mail.sealed.clone().into(),
            now.into(),
        ],
    )
    .await
    .context("queueing a mail")?;
    Ok(())
}

/// Claims up to `limit` due messages for `lease_secs`, counting an attempt for each.
pub async fn claim_due(db: &Db, now: i64, lease_secs: i64, limit: u64) -> anyhow::Result<Vec<StoredMail>> {
    let candidates: Vec<IdRow> = query_all(
        db,
        "SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1 \
         ORDER BY next_attempt_at LIMIT $2",
        vec![now.into(), (limit as i64).into()],
    )
    .await
    .context("finding due mail")?;
    let mut claimed = Vec::new();
    for row in candidates {
        let row: Option<StoredMail> = query_one(
            db,
            "UPDATE mail_outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status = 'pending' AND locked_until <= $3 \
             RETURNING id, recipient, subject, sealed, body_text, body_html, attempts",
            vec![(now + lease_secs).into(), row.id.into(), now.into()],
        )
        .await
        .context("claiming a mail")?;
        claimed.extend(row);
    }
    Ok(claimed)
}

/// Delivered: the body is blanked (only the envelope stays, for support questions).
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE mail_outbox SET status = 'sent', sent_at = $1, locked_until = 0, last_error = NULL, \
         sealed = NULL, body_text = '', body_html = '' WHERE id = $2",
        vec![now.into(), id.into()],
    )
    .await
    .context("marking a mail sent")?;
    Ok(())
}

pub async fn mark_retry(db: &Db, id: &str, next_attempt_at: i64, error: &str) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE mail_outbox SET next_attempt_at = $1, locked_until = 0, last_error = $2 WHERE id = $3",
        vec![next_attempt_at.into(), error.into(), id.into()],
    )
    .await
    .context("scheduling a mail retry")?;
    Ok(())
}

/// Given up: nothing will send the body any more, so it is blanked too.
pub async fn mark_failed(db: &Db, id: &str, error: &str) -> anyhow::Result<()> {
    execute(
        db,
        "UPDATE mail_outbox SET status = 'failed', locked_until = 0, last_error = $1, \
         sealed = NULL, body_text = '', body_html = '' WHERE id = $2",
        vec![error.into(), id.into()],
    )
    .await
    .context("marking a mail failed")?;
    Ok(())
}

/// Housekeeping: delivered mail is kept for a while for support questions, then removed.
pub async fn purge_sent(db: &Db, before: i64) -> anyhow::Result<u64> {
    execute(db, "DELETE FROM mail_outbox WHERE status = 'sent' AND sent_at < $1", vec![before.into()])
        .await
        .context("purging sent mail")
}

/// Messages waiting for delivery.
pub async fn pending_count(db: &Db) -> anyhow::Result<i64> {
    let row: Option<Count> = query_one(db, "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'pending'", vec![])
        .await
        .context("counting pending mail")?;
    Ok(row.map(|c| c.n).unwrap_or_default())
}
