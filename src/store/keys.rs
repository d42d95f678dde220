//! The `signing_keys` table: every node and every restart signs with the same keys.

use anyhow::Context;

use super::{Db, execute, query_all};

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// Sealed private key (PKCS#8 DER), see `crypto::SecretBox`.
    pub private_key: String,
    pub public_jwk: String,
    pub activates_at: i64,
    pub expires_at: Option<i64>,
}

pub async fn all(db: &Db) -> anyhow::Result<Vec<StoredKey>> {
    let rows = query_all(
        db,
        "SELECT kid, alg, private_key, public_jwk, activates_at, expires_at FROM signing_keys ORDER BY activates_at",
        vec![],
    )
    .await
    .context("loading signing keys")?;
    rows.into_iter()
        .map(|r| {
            Ok(StoredKey {
                kid: r.try_get_by_index(0)?,
                alg: r.try_get_by_index(1)?,
                private_key: r.try_get_by_index(2)?,
                public_jwk: r.try_get_by_index(3)?,
                activates_at: r.try_get_by_index(4)?,
                expires_at: r.try_get_by_index(5)?,
            })
        })
        .collect()
}

pub async fn insert(db: &Db, key: &StoredKey, now: i64) -> anyhow::Result<()> {
    execute(
        db,
        "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, activates_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            key.kid.clone().into(),
            key.alg.clone().into(),
            key.private_key.clone().into(),
            key.public_jwk.clone().into(),
            now.into(),
            key.activates_at.into(),
            key.expires_at.into(),
        ],
    )
    .await
    .context("storing a signing key")?;
    Ok(())
}

/// Schedules every key of `alg` that has no end yet to leave the JWKS at `expires_at`.
pub async fn retire(db: &Db, alg: &str, except_kid: &str, expires_at: i64) -> anyhow::Result<u64> {
    execute(
        db,
        "UPDATE signing_keys SET expires_at = $1 WHERE alg = $2 AND kid <> $3 AND expires_at IS NULL",
        vec![expires_at.into(), alg.into(), except_kid.into()],
    )
    .await
    .context("retiring signing keys")
}

/// Housekeeping: keys past their end verify nothing any more.
pub async fn purge_expired(db: &Db, now: i64) -> anyhow::Result<u64> {
    execute(db, "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at < $1", vec![now.into()])
        .await
        .context("purging signing keys")
}
