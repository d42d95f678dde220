//! The `signing_keys` table (every node and every restart signs with the same keys) and the
//! one-row `key_schedule` table that says when the keys were last rotated. A rotation is one
//! transaction; a scheduled one first claims its turn with a compare-and-set on the schedule
//! row, so of several nodes that find the same rotation due, exactly one performs it.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_all, query_one};
use crate::audit::Event;

/// The id of the single schedule row.
const SCHEDULE_ROW: i64 = 1;

#[derive(Debug, Clone, FromQueryResult)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// Sealed private key (PKCS#8 DER), see `crypto::SecretBox`.
    pub private_key: String,
    pub public_jwk: String,
    pub created_at: i64,
    /// Signs from here on.
    pub activates_at: i64,
    /// Signs nothing from here on (still verifies); none while it has no successor.
    pub retires_at: Option<i64>,
    /// Leaves the JWKS and verifies nothing from here on.
    pub expires_at: Option<i64>,
}

pub async fn all(db: &Db) -> anyhow::Result<Vec<StoredKey>> {
    query_all(
        db,
        "SELECT kid, alg, private_key, public_jwk, created_at, activates_at, retires_at, expires_at \
         FROM signing_keys ORDER BY activates_at, created_at, kid",
        vec![],
    )
    .await
    .context("loading signing keys")
}

pub async fn insert(s: &impl Store, key: &StoredKey) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, activates_at, retires_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            key.kid.clone().into(),
            key.alg.clone().into(),
            key.private_key.clone().into(),
            key.public_jwk.clone().into(),
            key.created_at.into(),
            key.activates_at.into(),
            key.retires_at.into(),
            key.expires_at.into(),
        ],
    )
    .await
    .context("storing a signing key")?;
    Ok(())
}

/// How a rotation gets its turn.
#[derive(Debug, Clone, Copy)]
pub enum Turn {
    /// The schedule said a rotation was due after the one at `seen`: only rotate if no other
    /// node has rotated since (the schedule row still says `seen`).
    Scheduled { seen: i64 },
    /// By hand (`portcullis keys rotate`): always.
    Manual,
}

/// What a rotation writes.
#[derive(Debug)]
pub struct Rotation<'a> {
    /// The new keys, one per algorithm; each retires the keys of its algorithm that have no
    /// end yet at its `activates_at`.
    pub keys: &'a [StoredKey],
    /// When the retired keys leave the JWKS.
    pub remove_retired_at: i64,
    /// The rotation's time, recorded as the last rotation.
    pub now: i64,
    /// The `key.rotated` event, appended in the rotation's transaction (at `now_ms`).
    pub event: &'a Event,
    pub now_ms: i64,
}

/// Performs `rotation` in one transaction, its audit event included. Returns false, writing
/// nothing, when a scheduled turn was taken by another node.
pub async fn rotate(db: &Db, turn: Turn, rotation: Rotation<'_>) -> anyhow::Result<bool> {
    let tx = db.begin().await?;
    match turn {
        Turn::Scheduled { seen } => {
            // The claim comes first: on SQLite it takes the write lock, on PostgreSQL the row
            // lock; a node that loses waits here and then matches no row.
            let claimed = execute(
                &tx,
                "UPDATE key_schedule SET rotated_at = $1 WHERE id = $2 AND rotated_at = $3",
                vec![rotation.now.into(), SCHEDULE_ROW.into(), seen.into()],
            )
            .await
            .context("claiming the scheduled key rotation")?;
            if claimed != 1 {
                return Ok(false);
            }
        }
        Turn::Manual => {
            record_rotation(&tx, rotation.now).await?;
        }
    }
    for key in rotation.keys {
        execute(
            &tx,
            "UPDATE signing_keys SET retires_at = $1, expires_at = $2 WHERE alg = $3 AND retires_at IS NULL",
            vec![key.activates_at.into(), rotation.remove_retired_at.into(), key.alg.clone().into()],
        )
        .await
        .context("retiring signing keys")?;
        insert(&tx, key).await?;
    }
    super::audit::append(&tx, rotation.now_ms, rotation.event).await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(Debug, FromQueryResult)]
struct ScheduleRow {
    rotated_at: i64,
}

/// When the keys were last rotated; none before the schedule row exists.
pub async fn last_rotation(db: &Db) -> anyhow::Result<Option<i64>> {
    let row: Option<ScheduleRow> =
        query_one(db, "SELECT rotated_at FROM key_schedule WHERE id = $1", vec![SCHEDULE_ROW.into()])
            .await
            .context("reading the key schedule")?;
    Ok(row.map(|r| r.rotated_at))
}

/// Creates the schedule row with `rotated_at` unless a node has already done so.
pub async fn start_schedule(db: &Db, rotated_at: i64) -> anyhow::Result<()> {
    execute(
        db,
        "INSERT INTO key_schedule (id, rotated_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        vec![SCHEDULE_ROW.into(), rotated_at.into()],
    )
    .await
    .context("starting the key schedule")?;
    Ok(())
}

async fn record_rotation(s: &impl Store, now: i64) -> anyhow::Result<()> {
    let updated =
        execute(s, "UPDATE key_schedule SET rotated_at = $1 WHERE id = $2", vec![now.into(), SCHEDULE_ROW.into()])
            .await
            .context("recording a key rotation")?;
    if updated == 0 {
        execute(
            s,
            "INSERT INTO key_schedule (id, rotated_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            vec![SCHEDULE_ROW.into(), now.into()],
        )
        .await
        .context("recording a key rotation")?;
    }
    Ok(())
}

/// Housekeeping: keys past their end verify nothing any more.
pub async fn purge_expired(db: &Db, now: i64) -> anyhow::Result<u64> {
    execute(db, "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at < $1", vec![now.into()])
        .await
        .context("purging signing keys")
}
