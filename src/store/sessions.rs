//! Browser sessions for tower-sessions, on our own `sessions` table.
//!
//! Rows are keyed by the SHA-256 of the session id, so a copy of the table opens no
//! sessions. Expiry uses the application [`Clock`](crate::clock::Clock): a session ends
//! `idle` seconds after its last save or `absolute` seconds after it was created (at login,
//! since login cycles the id), whichever comes first. The `user_id` column mirrors the
//! session data so every session of a user can be ended at once.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::entity::session::{self, Entity as Sessions};
use super::{Db, Store, execute};
use crate::clock::SharedClock;
use crate::identity::user::UserId;
use crate::secret::token_hash;

/// The session data key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";

#[derive(Debug, Clone)]
pub struct SessionRepo {
    db: Db,
    clock: SharedClock,
    idle_secs: i64,
    absolute_secs: i64,
}

fn id_hash(id: &Id) -> String {
    token_hash(&id.to_string())
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

impl SessionRepo {
    pub fn new(db: Db, clock: SharedClock, idle_secs: i64, absolute_secs: i64) -> Self {
        Self { db, clock, idle_secs, absolute_secs }
    }

    fn user_of(record: &Record) -> Option<String> {
        record.data.get(USER_ID_KEY).and_then(|v| v.as_str()).map(str::to_string)
    }

    /// Ends every session of `user`, except `keep` (the one making the change).
    pub async fn end_all_for_user(&self, user: UserId, keep: Option<Id>) -> anyhow::Result<u64> {
        let keep = keep.map(|id| id_hash(&id)).unwrap_or_default();
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
pub async fn end_all_for_user(s: &impl Store, user: UserId, keep: Option<Id>) -> anyhow::Result<u64> {
    let keep = keep.map(|id| id_hash(&id)).unwrap_or_default();
    Ok(execute(
        s,
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
        vec![user.to_string().into(), keep.into()],
    )
    .await?)
}

#[async_trait]
impl SessionStore for SessionRepo {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = self.clock.unix();
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expires_at = now + self.idle_secs.min(self.absolute_secs);
        // A 128-bit id collides with negligible probability; still, never overwrite a row.
        for _ in 0..3 {
            let inserted = self
                .db
                .execute(
                    "INSERT INTO sessions (id_hash, user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id_hash) DO NOTHING",
                    vec![
                        id_hash(&record.id).into(),
                        Self::user_of(record).into(),
                        data.clone().into(),
                        now.into(),
                        expires_at.into(),
                    ],
                )
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let now = self.clock.unix();
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // Slide the idle deadline, never past the absolute one. A row deleted meanwhile
        // (logout elsewhere, password change) stays deleted: updating nothing is right.
        self.db
            .execute(
                "UPDATE sessions SET data = $1, user_id = $2, \
                 expires_at = CASE WHEN created_at + $3 < $4 THEN created_at + $3 ELSE $4 END \
                 WHERE id_hash = $5 AND expires_at > $6",
                vec![
                    data.into(),
                    Self::user_of(record).into(),
                    self.absolute_secs.into(),
                    (now + self.idle_secs).into(),
                    id_hash(&record.id).into(),
                    now.into(),
                ],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = Sessions::find_by_id(id_hash(id))
            .filter(session::Column::ExpiresAt.gt(self.clock.unix()))
            .one(self.db.conn())
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        Sessions::delete_by_id(id_hash(id)).exec(self.db.conn()).await.map_err(backend)?;
        Ok(())
    }
}
