//! The session library's store, on our `sessions` repository: tower-sessions' records and
//! ids become the domain's [`SessionId`] and the JSON the repository keeps, with the facts
//! about the sign-in it mirrors into columns ([`SessionFacts`]).

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::identity::session::SessionId;
use crate::store::sessions::{AUTH_TIME_KEY, SID_KEY, SessionFacts, SessionRepo, USER_ID_KEY};

impl From<Id> for SessionId {
    fn from(id: Id) -> Self {
        SessionId::new(id.to_string())
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

/// What the session data says about the sign-in (user, sid, when), mirrored into columns.
fn facts_of(record: &Record) -> SessionFacts {
    let text = |key: &str| record.data.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let user_id = text(USER_ID_KEY);
    SessionFacts {
        sid: user_id.as_ref().and(text(SID_KEY)),
        signed_in_at: user_id.as_ref().and(record.data.get(AUTH_TIME_KEY).and_then(|v| v.as_i64())),
        user_id,
    }
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
            if self.insert(&record.id.into(), &facts_of(record), data.clone()).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(backend("could not allocate a session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        SessionRepo::save(self, &record.id.into(), &facts_of(record), data).await.map_err(backend)
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
