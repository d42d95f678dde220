//! Browser sessions on our own `sessions` table (the HTTP edge adapts this repository to
//! its session library, see `http::session_store`).
//!
//! Rows are keyed by the SHA-256 of the session id, so a copy of the table opens no
//! sessions. Expiry uses the application [`Clock`](crate::clock::Clock): a session ends
//! `idle` seconds after its last save or `absolute` seconds after it was created (at login,
//! since login cycles the id), whichever comes first. The `user_id` column mirrors the
//! session data so every session of a user can be ended at once.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::entity::session::{self, Entity as Sessions};
use super::{Db, Store, execute};
use crate::clock::SharedClock;
use crate::identity::session::SessionId;
use crate::identity::user::UserId;

/// The session data key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";

#[derive(Debug, Clone)]
pub struct SessionRepo {
    db: Db,
    clock: SharedClock,
    idle_secs: i64,
    absolute_secs: i64,
}

/// One stored session: its data (JSON, as the session layer wrote it) and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub data: String,
    pub expires_at: i64,
}

impl SessionRepo {
    pub fn new(db: Db, clock: SharedClock, idle_secs: i64, absolute_secs: i64) -> Self {
        Self { db, clock, idle_secs, absolute_secs }
    }

    /// Ends every session of `user`, except `keep` (the one making the change).
    pub async fn end_all_for_user(&self, user: UserId, keep: Option<SessionId>) -> anyhow::Result<u64> {
        let keep = keep.map(|id| id.hash()).unwrap_or_default();
        Ok(self
            .db
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
                vec![user.to_string().into(), keep.into()],
            )
            .await?)
    }

    /// Housekeeping: removes expired rows.
    pub async fn purge_expired(&self) -> anyhow::Result<u64> {
        let result = Sessions::delete_many()
            .filter(session::Column::ExpiresAt.lte(self.clock.unix()))
            .exec(self.db.conn())
            .await?;
        Ok(result.rows_affected)
    }
}

/// Ends every session of `user` except `keep` (the one making the change), on `s` (which
/// may be the transaction of that change).
pub async fn end_all_for_user(s: &impl Store, user: UserId, keep: Option<SessionId>) -> anyhow::Result<u64> {
    let keep = keep.map(|id| id.hash()).unwrap_or_default();
    Ok(execute(
        s,
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
        vec![user.to_string().into(), keep.into()],
    )
    .await?)
}

/// Ends one session on `s` (a sign-out's transaction); true when its row was still there.
pub async fn end(s: &impl Store, id: &SessionId) -> anyhow::Result<bool> {
    Ok(execute(s, "DELETE FROM sessions WHERE id_hash = $1", vec![id.hash().into()]).await? == 1)
}

impl SessionRepo {
    /// Stores a new session; `false` when a row with that id exists already (it is left as
    /// it is). `user_id` mirrors the session data's [`USER_ID_KEY`].
    pub async fn insert(&self, id: &SessionId, user_id: Option<String>, data: String) -> anyhow::Result<bool> {
        let now = self.clock.unix();
        let expires_at = now + self.idle_secs.min(self.absolute_secs);
        let inserted = self
            .db
            .execute(
                "INSERT INTO sessions (id_hash, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id_hash) DO NOTHING",
                vec![id.hash().into(), user_id.into(), data.into(), now.into(), expires_at.into()],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Saves a live session's data and slides its idle deadline, never past the absolute one.
    /// A row deleted meanwhile (logout elsewhere, password change) stays deleted: updating
    /// nothing is right.
    pub async fn save(&self, id: &SessionId, user_id: Option<String>, data: String) -> anyhow::Result<()> {
        let now = self.clock.unix();
        self.db
            .execute(
                "UPDATE sessions SET data = $1, user_id = $2, \
                 expires_at = CASE WHEN created_at + $3 < $4 THEN created_at + $3 ELSE $4 END \
                 WHERE id_hash = $5 AND expires_at > $6",
                vec![
                    data.into(),
                    user_id.into(),
                    self.absolute_secs.into(),
                    (now + self.idle_secs).into(),
                    id.hash().into(),
                    now.into(),
                ],
            )
            .await?;
        Ok(())
    }

    /// The session with that id, unless it has ended.
    pub async fn load(&self, id: &SessionId) -> anyhow::Result<Option<StoredSession>> {
        let row = Sessions::find_by_id(id.hash())
            .filter(session::Column::ExpiresAt.gt(self.clock.unix()))
            .one(self.db.conn())
            .await?;
        Ok(row.map(|row| StoredSession { data: row.data, expires_at: row.expires_at }))
    }

    pub async fn delete(&self, id: &SessionId) -> anyhow::Result<()> {
        Sessions::delete_by_id(id.hash()).exec(self.db.conn()).await?;
        Ok(())
    }
}
