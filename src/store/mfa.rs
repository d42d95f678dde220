//! TOTP state on `users` and the `recovery_codes` table. Accepting a code is one conditional
//! update on the last accepted step, so a code works once even under parallel submissions;
//! a recovery code is used by one conditional update on its keyed hash.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Count, Store, execute, query_all, query_one};
use crate::identity::user::UserId;

/// A sealed TOTP secret column.
#[derive(Debug, FromQueryResult)]
struct SealedRow {
    sealed: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct CodeHashRow {
    code_hash: String,
}

/// The sealed secret, when 2FA is on.
pub async fn secret(s: &impl Store, user: UserId) -> anyhow::Result<Option<String>> {
    let row: Option<SealedRow> = query_one(
        s,
        "SELECT totp_secret AS sealed FROM users WHERE id = $1 AND totp_enabled_at IS NOT NULL",
        vec![user.to_string().into()],
    )
    .await
    .context("reading a TOTP secret")?;
    Ok(row.and_then(|r| r.sealed))
}

pub async fn pending(s: &impl Store, user: UserId) -> anyhow::Result<Option<String>> {
    let row: Option<SealedRow> =
        query_one(s, "SELECT totp_pending AS sealed FROM users WHERE id = $1", vec![user.to_string().into()])
            .await
            .context("reading a pending TOTP secret")?;
    Ok(row.and_then(|r| r.sealed))
}

pub async fn set_pending(s: &impl Store, user: UserId, sealed: Option<&str>) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE users SET totp_pending = $1 WHERE id = $2",
        vec![sealed.map(str::to_string).into(), user.to_string().into()],
    )
    .await
    .context("storing a pending TOTP secret")?;
    Ok(())
}

/// Turns 2FA on with the confirmed secret; `step` was just used to confirm it.
pub async fn enable(s: &impl Store, user: UserId, sealed: &str, step: i64, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_last_step = $2, totp_enabled_at = $3, updated_at = $3 WHERE id = $4",
        vec![sealed.into(), step.into(), now.into(), user.to_string().into()],
    )
    .await
    .context("enabling TOTP")?;
    Ok(())
}

pub async fn disable(s: &impl Store, user: UserId, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, totp_enabled_at = NULL, updated_at = $1 WHERE id = $2",
        vec![now.into(), user.to_string().into()],
    )
    .await
    .context("disabling TOTP")?;
    execute(s, "DELETE FROM recovery_codes WHERE user_id = $1", vec![user.to_string().into()])
        .await
        .context("removing recovery codes")?;
    Ok(())
}

/// Accepts time step `step` if it is later than the last accepted one (exactly one caller wins).
pub async fn accept_step(s: &impl Store, user: UserId, step: i64) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled_at IS NOT NULL \
         AND (totp_last_step IS NULL OR totp_last_step < $1)",
        vec![step.into(), user.to_string().into()],
    )
    .await
    .context("accepting a TOTP step")?
        == 1)
}

/// How a stored recovery code was hashed (`recovery_codes.hash_scheme`).
pub mod scheme {
    /// HMAC-SHA256 of the normalized code under the recovery-code key: every code issued now.
    pub const KEYED: &str = "hmac";
    /// HMAC-SHA256, same key, of the hex SHA-256 of the code: a code issued before keyed
    /// hashes, re-keyed in place (its plaintext was never stored, its SHA-256 was).
    pub const REKEYED_LEGACY: &str = "hmac-of-sha256";
    /// Plain SHA-256, as written before keyed hashes; never accepted, re-keyed at start.
    pub const LEGACY: &str = "sha256";
}

/// Replaces the user's recovery codes with these keyed hashes.
pub async fn replace_recovery_codes(s: &impl Store, user: UserId, hashes: &[String], now: i64) -> anyhow::Result<()> {
    execute(s, "DELETE FROM recovery_codes WHERE user_id = $1", vec![user.to_string().into()])
        .await
        .context("removing recovery codes")?;
    for hash in hashes {
        execute(
            s,
            "INSERT INTO recovery_codes (code_hash, user_id, created_at, hash_scheme) VALUES ($1, $2, $3, $4)",
            vec![hash.clone().into(), user.to_string().into(), now.into(), scheme::KEYED.into()],
        )
        .await
        .context("storing a recovery code")?;
    }
    Ok(())
}

/// Uses a recovery code once: `keyed` is its keyed hash, `rekeyed_legacy` the keyed hash of
/// its SHA-256 (which matches a code issued before keyed hashes).
pub async fn use_recovery_code(
    s: &impl Store,
    user: UserId,
    keyed: &str,
    rekeyed_legacy: &str,
    now: i64,
) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL \
         AND ((hash_scheme = $3 AND code_hash = $4) OR (hash_scheme = $5 AND code_hash = $6))",
        vec![
            now.into(),
            user.to_string().into(),
            scheme::KEYED.into(),
            keyed.into(),
            scheme::REKEYED_LEGACY.into(),
            rekeyed_legacy.into(),
        ],
    )
    .await
    .context("using a recovery code")?
        == 1)
}

/// The plain SHA-256 hashes still stored (codes issued before keyed hashes).
pub async fn legacy_recovery_hashes(s: &impl Store) -> anyhow::Result<Vec<String>> {
    let rows: Vec<CodeHashRow> =
        query_all(s, "SELECT code_hash FROM recovery_codes WHERE hash_scheme = $1", vec![scheme::LEGACY.into()])
            .await
            .context("reading legacy recovery codes")?;
    Ok(rows.into_iter().map(|r| r.code_hash).collect())
}

/// Replaces one plain SHA-256 hash by its keyed hash (idempotent: a second node finds no row).
pub async fn rekey_legacy_recovery_hash(s: &impl Store, legacy: &str, rekeyed: &str) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE recovery_codes SET code_hash = $1, hash_scheme = $2 WHERE code_hash = $3 AND hash_scheme = $4",
        vec![rekeyed.into(), scheme::REKEYED_LEGACY.into(), legacy.into(), scheme::LEGACY.into()],
    )
    .await
    .context("re-keying a legacy recovery code")?;
    Ok(())
}

pub async fn recovery_codes_left(s: &impl Store, user: UserId) -> anyhow::Result<i64> {
    let row: Option<Count> = query_one(
        s,
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        vec![user.to_string().into()],
    )
    .await
    .context("counting recovery codes")?;
    Ok(row.map(|c| c.n).unwrap_or_default())
}
