//! The `config_state` row of `portcullis apply`: taken first in the apply's transaction, it
//! is the lock that makes several nodes applying one file at once safe. On PostgreSQL the
//! transaction first waits for `pg_advisory_xact_lock` (released at commit or rollback); on
//! SQLite the row's upsert takes the single write lock, which another process waits for
//! (busy timeout) and this one's write gate serialises in-process. Whoever comes second sees
//! the first one's clients once it holds the lock, so its plan finds them done.

use anyhow::Context;
use sea_orm::{ConnectionTrait, DbBackend};

use super::{Store, execute};

/// The advisory-lock key of `portcullis apply` (any fixed 64-bit number; "portcull" in ASCII).
const APPLY_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// Takes the apply lock on the open transaction `tx` and records this apply (`source`: the
/// file's name, `digest`: its SHA-256). Returns once no other apply holds the lock.
pub async fn lock_for_apply(tx: &impl Store, now_ms: i64, source: &str, digest: &str) -> anyhow::Result<()> {
    if tx.connection().get_database_backend() == DbBackend::Postgres {
        execute(tx, "SELECT pg_advisory_xact_lock($1)", vec![APPLY_LOCK.into()])
            .await
            .context("waiting for the configuration apply lock")?;
    }
    execute(
        tx,
        "INSERT INTO config_state (id, applied_at_ms, source, digest) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET applied_at_ms = excluded.applied_at_ms, source = excluded.source, \
         digest = excluded.digest",
        vec![now_ms.into(), source.into(), digest.into()],
    )
    .await
    .context("recording the configuration apply")?;
    Ok(())
}
