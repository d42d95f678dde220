//! Second-factor budgets, each reserved before a code is checked so that parallel requests
//! cannot overdraw them (the same statements on SQLite and PostgreSQL):
//! * the per-account window (a `login_throttle` row): one conditional upsert takes a slot,
//!   and takes none once the window is full;
//! * the per-sign-in challenge (`mfa_challenges`): one conditional `UPDATE … RETURNING`
//!   takes an attempt from a live, unused challenge; a success uses the challenge up.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_one};
use crate::identity::user::UserId;

/// Takes one slot from the fixed window `key` (`max` per `window` seconds, the window
/// restarting once it is over). False, and nothing changed, when the window is full.
pub async fn reserve_window_slot(s: &impl Store, key: &str, max: u32, window: i64, now: i64) -> anyhow::Result<bool> {
    // The same fixed-window upsert as every other window budget, so the row carries its
    // `expires_at` and housekeeping never purges a window that is still counting.
    let taken = super::throttle::take_window_slot(s, key, now, window, max)
        .await
        .context("reserving a second-factor attempt")?;
    if !taken {
        execute(s, "UPDATE login_throttle SET refused = refused + 1 WHERE bucket = $1", vec![key.into()])
            .await
            .context("counting a refused second-factor attempt")?;
    }
    Ok(taken)
}

/// Gives back a slot taken by [`reserve_window_slot`] (the attempt succeeded: only failures
/// count against the owner).
pub async fn release_window_slot(s: &impl Store, key: &str) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE login_throttle SET failures = failures - 1 WHERE bucket = $1 AND failures > 0",
        vec![key.into()],
    )
    .await
    .context("releasing a second-factor attempt")?;
    Ok(())
}

pub async fn insert_challenge(db: &Db, hash: &str, user: UserId, now: i64, expires_at: i64) -> anyhow::Result<()> {
    execute(
        db,
        "INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at, failures) VALUES ($1, $2, $3, $4, 0)",
        vec![hash.into(), user.to_string().into(), now.into(), expires_at.into()],
    )
    .await
    .context("storing a second-factor challenge")?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct AttemptRow {
    user_id: String,
    failures: i32,
}

/// One attempt taken from a challenge.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub user_id: UserId,
    /// Attempts taken so far, this one included.
    pub attempts: u32,
}

/// Takes one attempt from a live (unexpired, unused) challenge that has fewer than `max`
/// attempts taken. None when the challenge is unknown, expired, used or spent.
pub async fn take_attempt(db: &Db, hash: &str, max: u32, now: i64) -> anyhow::Result<Option<Attempt>> {
    let row: Option<AttemptRow> = query_one(
        db,
        "UPDATE mfa_challenges SET failures = failures + 1 \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3 \
         RETURNING user_id, failures",
        vec![hash.into(), now.into(), (max as i32).into()],
    )
    .await
    .context("taking a second-factor attempt")?;
    let Some(row) = row else { return Ok(None) };
    Ok(UserId::parse(&row.user_id).map(|user_id| Attempt { user_id, attempts: row.failures.max(0) as u32 }))
}

/// Uses the challenge up (its second factor was proven). Exactly one caller gets true.
pub async fn use_challenge(db: &Db, hash: &str, now: i64) -> anyhow::Result<bool> {
    Ok(execute(
        db,
        "UPDATE mfa_challenges SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        vec![now.into(), hash.into()],
    )
    .await
    .context("using a second-factor challenge")?
        == 1)
}

/// Ends every open challenge of a user (the password they proved has changed).
pub async fn void_challenges(s: &impl Store, user: UserId) -> anyhow::Result<()> {
    execute(s, "DELETE FROM mfa_challenges WHERE user_id = $1", vec![user.to_string().into()])
        .await
        .context("ending second-factor challenges")?;
    Ok(())
}

/// Housekeeping: challenges past their expiry are of no use to anyone.
pub async fn purge_expired(db: &Db, now: i64) -> anyhow::Result<u64> {
    db.execute("DELETE FROM mfa_challenges WHERE expires_at < $1", vec![now.into()])
        .await
        .context("purging second-factor challenges")
}
