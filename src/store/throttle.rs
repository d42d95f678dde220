//! Login counters (`login_throttle`) and known devices (`known_devices`). Every change is a
//! single conditional statement, so parallel attempts on any node are all counted.

use anyhow::Context;
use sea_orm::{EntityTrait, FromQueryResult};

use super::entity::known_device::Entity as KnownDevices;
use super::entity::login_throttle::{self, Entity as Throttle};
use super::{Db, Store, execute};
use crate::identity::user::UserId;

/// A counter row as last read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    pub failures: i32,
    pub refused: i32,
    pub window_started_at: i64,
    pub locked_until: i64,
}

impl From<login_throttle::Model> for Counter {
    fn from(m: login_throttle::Model) -> Self {
        Self {
            failures: m.failures,
            refused: m.refused,
            window_started_at: m.window_started_at,
            locked_until: m.locked_until,
        }
    }
}

pub async fn load(db: &Db, key: &str) -> anyhow::Result<Option<Counter>> {
    Ok(Throttle::find_by_id(key.to_string())
        .one(db.conn())
        .await
        .context("reading a login counter")?
        .map(Counter::from))
}

/// Compare-and-swap: records one more failure (and the new lock) only if nobody else
/// changed the failure count since `seen` was read. Returns whether this caller won.
pub async fn claim_attempt(db: &Db, key: &str, seen: Option<Counter>, locked_until: i64) -> anyhow::Result<bool> {
    let changed = match seen {
        None => {
            db.execute(
                "INSERT INTO login_throttle (bucket, failures, refused, window_started_at, locked_until) \
                 VALUES ($1, 1, 0, 0, $2) ON CONFLICT (bucket) DO NOTHING",
                vec![key.into(), locked_until.into()],
            )
            .await
        }
        Some(c) => {
            db.execute(
                "UPDATE login_throttle SET failures = failures + 1, locked_until = $1 WHERE bucket = $2 AND failures = $3",
                vec![locked_until.into(), key.into(), c.failures.into()],
            )
            .await
        }
    }
    .context("claiming a login attempt")?;
    Ok(changed == 1)
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

/// A success: the account starts afresh.
pub async fn reset(db: &Db, key: &str) -> anyhow::Result<()> {
    db.execute("DELETE FROM login_throttle WHERE bucket = $1", vec![key.into()])
        .await
        .context("resetting a login counter")?;
    Ok(())
}

/// Counts an event in a fixed window that restarts once `window` seconds have passed.
pub async fn add_window_failure(db: &impl Store, key: &str, now: i64, window: i64) -> anyhow::Result<()> {
    execute(
        db,
        "INSERT INTO login_throttle (bucket, failures, refused, window_started_at, locked_until) VALUES ($1, 1, 0, $2, 0) \
         ON CONFLICT (bucket) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_started_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $2 ELSE login_throttle.window_started_at END",
        vec![key.into(), now.into(), (now - window).into()],
    )
    .await
    .context("counting a failure for a client address")?;
    Ok(())
}

/// Housekeeping: removes counters whose lock and window are both over.
pub async fn purge_stale(db: &Db, now: i64, window: i64) -> anyhow::Result<u64> {
    Ok(db
        .execute(
            "DELETE FROM login_throttle WHERE locked_until < $1 AND window_started_at < $2 AND failures = 0",
            vec![now.into(), (now - window).into()],
        )
        .await?)
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
    let row = KnownDevices::find_by_id(token_hash.to_string())
        .into_model::<DeviceRow>()
        .one(db.conn())
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
