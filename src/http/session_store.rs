//! The session library's store, on our `sessions` repository: tower-sessions' records and
//! ids become the domain's [`SessionId`] and the JSON the repository keeps.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::identity::session::SessionId;
use crate::store::sessions::{SessionRepo, USER_ID_KEY};

impl From<Id> for SessionId {
    fn from(id: Id) -> Self {
        SessionId::new(id.to_string())
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

/// The user id the session data holds, mirrored into its own column.
fn user_of(record: &Record) -> Option<String> {
    record.data.get(USER_ID_KEY).and_then(|v| v.as_str()).map(str::to_string)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for SessionRepo {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        // A 128-bit id collides with negligible probability; still, never overwrite a row.
        for _ in 0..3 {
            if self.insert(&record.id.into(), user_of(record), data.clone()).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        SessionRepo::save(self, &record.id.into(), user_of(record), data).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = SessionRepo::load(self, &(*id).into()).await.map_err(backend)? else { return Ok(None) };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at).map_err(backend)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        SessionRepo::delete(self, &(*id).into()).await.map_err(backend)
    }
}
