//! Passkeys (`passkeys`) and the per-person WebAuthn user handle (`passkey_handles`). Removal
//! is one conditional statement that refuses to take away a person's last way in.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Count, Store, execute, query_all, query_one, unique_violation};
use crate::identity::passkeys::credential::{StoredPasskey, Use};
use crate::identity::user::UserId;

const COLUMNS: &str = "id, user_id, credential_id, name, credential, sign_count, backup_eligible, backup_state, \
     transports, aaguid, user_verified, counter_flagged, created_at, last_used_at";

#[derive(Debug, FromQueryResult)]
struct PasskeyRow {
    id: String,
    user_id: String,
    credential_id: String,
    name: String,
    credential: String,
    sign_count: i64,
    backup_eligible: bool,
    backup_state: bool,
    transports: String,
    aaguid: String,
    user_verified: bool,
    counter_flagged: bool,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl PasskeyRow {
    fn into_domain(self) -> anyhow::Result<StoredPasskey> {
        let user_id = UserId::parse(&self.user_id).context("stored passkey with a malformed user id")?;
        Ok(StoredPasskey {
            id: self.id,
            user_id,
            credential_id: self.credential_id,
            name: self.name,
            credential: self.credential,
            sign_count: self.sign_count,
            backup_eligible: self.backup_eligible,
            backup_state: self.backup_state,
            transports: self.transports,
            aaguid: self.aaguid,
            user_verified: self.user_verified,
            counter_flagged: self.counter_flagged,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// The credential id is registered already (to anyone).
#[derive(Debug, thiserror::Error)]
#[error("this credential is registered already")]
pub struct CredentialTaken;

#[derive(Debug, FromQueryResult)]
struct HandleRow {
    handle: String,
}

#[derive(Debug, FromQueryResult)]
struct UserRow {
    user_id: String,
}

/// The person's user handle, if they have one.
pub async fn handle_of(s: &impl Store, user: UserId) -> anyhow::Result<Option<String>> {
    let row: Option<HandleRow> =
        query_one(s, "SELECT handle FROM passkey_handles WHERE user_id = $1", vec![user.to_string().into()])
            .await
            .context("reading a passkey user handle")?;
    Ok(row.map(|r| r.handle))
}

/// Keeps `handle` as the person's user handle unless they have one; returns the one that holds.
pub async fn ensure_handle(s: &impl Store, user: UserId, handle: &str) -> anyhow::Result<String> {
    execute(
        s,
        "INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
        vec![user.to_string().into(), handle.into()],
    )
    .await
    .context("storing a passkey user handle")?;
    handle_of(s, user).await?.context("the user handle just stored is missing")
}

/// Whose user handle this is.
pub async fn user_of_handle(s: &impl Store, handle: &str) -> anyhow::Result<Option<UserId>> {
    let row: Option<UserRow> =
        query_one(s, "SELECT user_id FROM passkey_handles WHERE handle = $1", vec![handle.into()])
            .await
            .context("looking up a passkey user handle")?;
    Ok(row.and_then(|r| UserId::parse(&r.user_id)))
}

pub async fn insert(s: &impl Store, p: &StoredPasskey) -> anyhow::Result<Result<(), CredentialTaken>> {
    let sql = format!(
        "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    let inserted = execute(
        s,
        &sql,
        vec![
            p.id.clone().into(),
            p.user_id.to_string().into(),
            p.credential_id.clone().into(),
            p.name.clone().into(),
            p.credential.clone().into(),
            p.sign_count.into(),
            p.backup_eligible.into(),
            p.backup_state.into(),
            p.transports.clone().into(),
            p.aaguid.clone().into(),
            p.user_verified.into(),
            p.counter_flagged.into(),
            p.created_at.into(),
            p.last_used_at.into(),
        ],
    )
    .await;
    match inserted {
        Ok(_) => Ok(Ok(())),
        Err(e) if unique_violation(&e).is_some() => Ok(Err(CredentialTaken)),
        Err(e) => Err(anyhow::Error::new(e).context("storing a passkey")),
    }
}

pub async fn list_for_user(s: &impl Store, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
    let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
    let rows: Vec<PasskeyRow> = query_all(s, &sql, vec![user.to_string().into()]).await.context("listing passkeys")?;
    rows.into_iter().map(PasskeyRow::into_domain).collect()
}

pub async fn count_for_user(s: &impl Store, user: UserId) -> anyhow::Result<i64> {
    let row: Option<Count> =
        query_one(s, "SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1", vec![user.to_string().into()])
            .await
            .context("counting passkeys")?;
    Ok(row.map_or(0, |c| c.n))
}

pub async fn find_by_credential_id(s: &impl Store, credential_id: &str) -> anyhow::Result<Option<StoredPasskey>> {
    let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1");
    let row: Option<PasskeyRow> = query_one(s, &sql, vec![credential_id.into()]).await.context("finding a passkey")?;
    row.map(PasskeyRow::into_domain).transpose()
}

/// Records a successful assertion: the counter (never lowered), the backup state, the time.
pub async fn record_use(s: &impl Store, id: &str, used: Use) -> anyhow::Result<()> {
    execute(
        s,
        "UPDATE passkeys SET sign_count = CASE WHEN sign_count < $2 THEN $2 ELSE sign_count END, \
         backup_state = $3, last_used_at = $4 WHERE id = $1",
        vec![id.into(), used.sign_count.into(), used.backup_state.into(), used.at.into()],
    )
    .await
    .context("recording a passkey use")?;
    Ok(())
}

/// Marks a credential whose counter went backwards.
pub async fn flag_counter(s: &impl Store, id: &str) -> anyhow::Result<()> {
    execute(s, "UPDATE passkeys SET counter_flagged = $2 WHERE id = $1", vec![id.into(), true.into()])
        .await
        .context("flagging a passkey counter")?;
    Ok(())
}

/// Renames the person's own passkey; false when they have none by that id.
pub async fn rename(s: &impl Store, user: UserId, id: &str, name: &str) -> anyhow::Result<bool> {
    let done = execute(
        s,
        "UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2",
        vec![id.into(), user.to_string().into(), name.into()],
    )
    .await
    .context("renaming a passkey")?;
    Ok(done == 1)
}

/// What removing a passkey came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Removed; the name it had.
    Removed(String),
    /// The person has no passkey by that id.
    NotFound,
    /// It is the last way in of an account without a password: kept.
    LastFactor,
}

/// Removes the person's own passkey, in one statement that keeps it when the account has no
/// password and it is the only passkey left (the count is taken inside the statement, so two
/// parallel removals cannot both pass).
pub async fn remove(s: &impl Store, user: UserId, id: &str) -> anyhow::Result<Removal> {
    let Some(found) = list_for_user(s, user).await?.into_iter().find(|p| p.id == id) else {
        return Ok(Removal::NotFound);
    };
    let done = execute(
        s,
        "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 AND ( \
           EXISTS (SELECT 1 FROM users WHERE id = $2 AND password_hash IS NOT NULL AND password_hash <> '') \
           OR (SELECT COUNT(*) FROM passkeys WHERE user_id = $2) > 1)",
        vec![id.into(), user.to_string().into()],
    )
    .await
    .context("removing a passkey")?;
    Ok(if done == 1 { Removal::Removed(found.name) } else { Removal::LastFactor })
}
