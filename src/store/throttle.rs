//! Login counters (`login_throttle`) and known devices (`known_devices`). Every change is a
//! single conditional statement, so parallel attempts on any node are all counted and an
//! in-flight reservation can never overfill its budget.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_one};
use crate::identity::user::UserId;

/// A counter row as last read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct Counter {
    pub failures: i32,
    pub refused: i32,
    pub window_started_at: i64,
    pub locked_until: i64,
    /// Password checks admitted and not yet resolved.
    pub in_flight: i32,
    /// When the newest of those was admitted.
    pub in_flight_since: i64,
    pub last_failure_at: i64,
    /// When the row stops mattering (housekeeping deletes it then).
    pub expires_at: i64,
}

pub async fn load(db: &Db, key: &str) -> anyhow::Result<Option<Counter>> {
    query_one(
        db,
        "SELECT failures, refused, window_started_at, locked_until, in_flight, in_flight_since, last_failure_at, expires_at \
         FROM login_throttle WHERE bucket = $1",
        vec![key.into()],
    )
    .await
    .context("reading a login counter")
}

#[derive(Debug, FromQueryResult)]
struct FailuresRow {
    failures: i32,
}

/// The rule every admission obeys, as SQL over the stored row: failures older than the
/// decay point no longer count, reservations older than the stale point are abandoned (a
/// crashed node), and the unresolved checks may fill what the free failures leave, or one
/// slot once those are spent. `$2` now, `$3` decay point, `$4` stale point, `$5` free failures.
const LIVE_FAILURES: &str = "(CASE WHEN login_throttle.last_failure_at <= $3 THEN 0 ELSE login_throttle.failures END)";
const LIVE_IN_FLIGHT: &str =
    "(CASE WHEN login_throttle.in_flight_since <= $4 THEN 0 ELSE login_throttle.in_flight END)";

/// Reserves one in-flight password check for `key` if the lock is over and completed
/// failures plus unresolved checks leave room. One statement, so parallel callers on any
/// node can never overfill it. Returns whether this caller got the slot.
pub async fn reserve(
    db: &Db,
    key: &str,
    now: i64,
    decay_point: i64,
    stale_point: i64,
    free_failures: i32,
) -> anyhow::Result<bool> {
    let sql = format!(
        "INSERT INTO login_throttle (bucket, failures, refused, window_started_at, locked_until, in_flight, in_flight_since, last_failure_at, expires_at) \
         VALUES ($1, 0, 0, 0, 0, 1, $2, 0, 0) \
         ON CONFLICT (bucket) DO UPDATE SET \
           failures = {LIVE_FAILURES}, \
           in_flight = {LIVE_IN_FLIGHT} + 1, \
           in_flight_since = $2 \
         WHERE login_throttle.locked_until <= $2 \
           AND {LIVE_IN_FLIGHT} < (CASE WHEN {LIVE_FAILURES} < $5 THEN $5 - {LIVE_FAILURES} ELSE 1 END)"
    );
    let changed = db
        .execute(&sql, vec![key.into(), now.into(), decay_point.into(), stale_point.into(), free_failures.into()])
        .await
        .context("reserving a password check")?;
    Ok(changed == 1)
}

/// First half of a failed check: counts the failure (restarting the count when the last one
/// has decayed) while the caller still holds its slot, so nobody is admitted in between.
/// Returns the consecutive failures now on record.
pub async fn count_failure(db: &Db, key: &str, now: i64, decay_point: i64) -> anyhow::Result<i32> {
    let row: Option<FailuresRow> = query_one(
        db,
        "UPDATE login_throttle SET \
           failures = CASE WHEN last_failure_at <= $3 THEN 1 ELSE failures + 1 END, last_failure_at = $2 \
         WHERE bucket = $1 RETURNING failures",
        vec![key.into(), now.into(), decay_point.into()],
    )
    .await
    .context("counting a failed password check")?;
    Ok(row.map_or(1, |r| r.failures))
}

/// Second half: gives the slot back and sets the lock the failure earned, in one statement.
pub async fn release_with_lock(db: &Db, key: &str, locked_until: i64, expires_at: i64) -> anyhow::Result<()> {
    db.execute(
        "UPDATE login_throttle SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END, \
           locked_until = CASE WHEN locked_until > $2 THEN locked_until ELSE $2 END, \
           expires_at = CASE WHEN expires_at > $3 THEN expires_at ELSE $3 END \
         WHERE bucket = $1",
        vec![key.into(), locked_until.into(), expires_at.into()],
    )
    .await
    .context("releasing a password check")?;
    Ok(())
}

/// Gives a slot back without counting anything (the check never completed).
pub async fn release(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute(
        "UPDATE login_throttle SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE bucket = $1",
        vec![key.into()],
    )
    .await
    .context("releasing a password check")?;
    Ok(())
}

/// A success with a slot: the slot is given back and the account starts afresh.
pub async fn release_with_success(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute(
        "UPDATE login_throttle SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END, \
           failures = 0, locked_until = 0, last_failure_at = 0, expires_at = 0 WHERE bucket = $1",
        vec![key.into()],
    )
    .await
    .context("resetting a login counter")?;
    delete_idle(db, key).await
}

/// A success without a slot (password reset, re-authentication): the account starts afresh.
pub async fn reset(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute(
        "UPDATE login_throttle SET failures = 0, locked_until = 0, last_failure_at = 0, expires_at = 0 WHERE bucket = $1",
        vec![key.into()],
    )
    .await
    .context("resetting a login counter")?;
    delete_idle(db, key).await
}

/// Deletes an account counter that holds nothing: no failure and no unresolved check.
async fn delete_idle(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute(
        "DELETE FROM login_throttle WHERE bucket = $1 AND in_flight = 0 AND failures = 0 AND window_started_at = 0",
        vec![key.into()],
    )
    .await
    .context("deleting an idle login counter")?;
    Ok(())
}

/// Counts an attempt that was turned away without a password check.
pub async fn add_refused(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute(
        "INSERT INTO login_throttle (bucket, failures, refused, window_started_at, locked_until) VALUES ($1, 0, 1, 0, 0) \
         ON CONFLICT (bucket) DO UPDATE SET refused = login_throttle.refused + 1",
        vec![key.into()],
    )
    .await
    .context("counting a refused login")?;
    Ok(())
}

/// The statement that counts one event in a fixed window that restarts once `window`
/// seconds have passed: `$1` key, `$2` now, `$3` now - window, `$4` now + window.
const WINDOW_UPSERT: &str = "INSERT INTO login_throttle (bucket, failures, refused, window_started_at, locked_until, expires_at) \
     VALUES ($1, 1, 0, $2, 0, $4) \
     ON CONFLICT (bucket) DO UPDATE SET \
       failures = CASE WHEN login_throttle.window_started_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
       expires_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $4 ELSE login_throttle.expires_at END, \
       window_started_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $2 ELSE login_throttle.window_started_at END";

/// Counts an event in a fixed window that restarts once `window` seconds have passed.
pub async fn add_window_failure(db: &impl Store, key: &str, now: i64, window: i64) -> anyhow::Result<()> {
    execute(db, WINDOW_UPSERT, vec![key.into(), now.into(), (now - window).into(), (now + window).into()])
        .await
        .context("counting an event in a window")?;
    Ok(())
}

/// Takes one event from a fixed-window budget of `max` if any is left, atomically (parallel
/// callers cannot overspend it). Returns whether it was taken.
pub async fn take_window_slot(db: &impl Store, key: &str, now: i64, window: i64, max: u32) -> anyhow::Result<bool> {
    let sql = format!("{WINDOW_UPSERT} WHERE login_throttle.window_started_at <= $3 OR login_throttle.failures < $5");
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    let changed =
        execute(db, &sql, vec![key.into(), now.into(), (now - window).into(), (now + window).into(), max.into()])
            .await
            .context("taking from a window budget")?;
    Ok(changed == 1)
}

/// Housekeeping: removes every counter whose window, lock and failures are over and that
/// has no live check in flight (reservations before `stale_point` count as abandoned).
pub async fn purge_stale(db: &Db, now: i64, stale_point: i64) -> anyhow::Result<u64> {
    db.execute(
        "DELETE FROM login_throttle WHERE expires_at <= $1 AND locked_until <= $1 \
           AND (in_flight = 0 OR in_flight_since <= $2)",
        vec![now.into(), stale_point.into()],
    )
    .await
    .context("purging login counters")
}

/// The device a known-device cookie stands for.
#[derive(Debug, Clone, Copy)]
pub struct KnownDevice {
    pub user_id: UserId,
    pub failures: i32,
}

#[derive(Debug, FromQueryResult)]
struct DeviceRow {
    user_id: String,
    failures: i32,
}

pub async fn find_device(db: &Db, token_hash: &str) -> anyhow::Result<Option<KnownDevice>> {
    let row: Option<DeviceRow> =
        query_one(db, "SELECT user_id, failures FROM known_devices WHERE token_hash = $1", vec![token_hash.into()])
            .await
            .context("looking up a known device")?;
    Ok(row.and_then(|r| UserId::parse(&r.user_id).map(|user_id| KnownDevice { user_id, failures: r.failures })))
}

pub async fn add_device(db: &Db, token_hash: &str, user: UserId, now: i64) -> anyhow::Result<()> {
    db.execute(
        "INSERT INTO known_devices (token_hash, user_id, created_at, last_used_at, failures) VALUES ($1, $2, $3, $3, 0)",
        vec![token_hash.into(), user.to_string().into(), now.into()],
    )
    .await
    .context("remembering a device")?;
    Ok(())
}

pub async fn touch_device(db: &Db, token_hash: &str, now: i64) -> anyhow::Result<()> {
    db.execute(
        "UPDATE known_devices SET last_used_at = $1, failures = 0 WHERE token_hash = $2",
        vec![now.into(), token_hash.into()],
    )
    .await
    .context("updating a known device")?;
    Ok(())
}

/// Counts a wrong password from a known device; at `max` failures it is forgotten.
pub async fn device_failed(db: &Db, token_hash: &str, max: i32) -> anyhow::Result<()> {
    db.execute("UPDATE known_devices SET failures = failures + 1 WHERE token_hash = $1", vec![token_hash.into()])
        .await
        .context("counting a known-device failure")?;
    db.execute(
        "DELETE FROM known_devices WHERE token_hash = $1 AND failures >= $2",
        vec![token_hash.into(), max.into()],
    )
    .await
    .context("forgetting a known device")?;
    Ok(())
}

/// Housekeeping: forgets devices unused since `before` (their cookie has expired).
pub async fn purge_devices(db: &Db, before: i64) -> anyhow::Result<u64> {
    db.execute("DELETE FROM known_devices WHERE last_used_at < $1", vec![before.into()])
        .await
        .context("purging known devices")
}
