//! Where a person is signed in: their live browser sessions, listed by public id with a
//! device summary, IP and times, and ended one at a time or all but the current one. The
//! person's own pages and API call this with [`Actor::User`]; the admin console calls the
//! same functions with [`Actor::Admin`]. Each ended session writes one `session.revoked`
//! event in the transaction that deletes it, and ends the online grants of its sign-in
//! (as signing out in it would).
//!
//! ```ignore
//! let list = state.devices.sessions(user.id, session.session_id().as_ref()).await?;
//! state.devices.end_session(Actor::Admin(admin.id), user.id, &list[0].id).await?;
//! state.devices.end_other_sessions(Actor::User(user.id), user.id, current.as_ref()).await?;
//! ```

use serde::Serialize;

use super::session::SessionId;
use super::user::UserId;
use super::user_agent::DeviceSummary;
use crate::audit::{Actor, Event, EventKind};
use crate::clock::SharedClock;
use crate::store::sessions::{self, EndedSession};
use crate::store::{Db, Tx, audit, grants};

/// The person's devices and connected apps (see also `identity::connected_apps`).
#[derive(Debug, Clone)]
pub struct Devices {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
    /// How long an access token lives: a grant younger than this may still have a live one.
    pub(super) access_token_ttl_secs: i64,
    /// The built-in client of the first-party API: its grants are the person's own sign-ins,
    /// not a connected app.
    pub(super) own_client: &'static str,
}

/// One place a person is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveSession {
    /// The public id: what the person and an admin see and end the session by.
    pub id: String,
    /// "Firefox on Linux".
    pub device: String,
    pub browser: &'static str,
    pub os: &'static str,
    /// The address it was last seen from.
    pub ip: Option<String>,
    /// Unix seconds.
    pub signed_in_at: i64,
    /// Unix seconds; updated at most every few minutes.
    pub last_seen_at: i64,
    /// Whether this is the session the request came with.
    pub current: bool,
}

/// Why a session could not be ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No live session of this user has that id (another user's id counts as none).
    #[error("no such session")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Devices {
    pub fn new(db: Db, clock: SharedClock, access_token_ttl_secs: i64, own_client: &'static str) -> Self {
        Self { db, clock, access_token_ttl_secs, own_client }
    }

    /// The live signed-in sessions of `user`, most recently seen first; `current` (the
    /// session of the request, if any) is marked.
    pub async fn sessions(&self, user: UserId, current: Option<&SessionId>) -> anyhow::Result<Vec<ActiveSession>> {
        let current = current.map(SessionId::hash);
        let rows = sessions::list_for_user(&self.db, user, self.clock.unix()).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let summary = DeviceSummary::parse(row.user_agent.as_deref());
                let signed_in_at = row.signed_in_at.unwrap_or(row.created_at);
                ActiveSession {
                    current: current.as_deref() == Some(row.id_hash.as_str()),
                    id: row.public_id,
                    device: summary.label(),
                    browser: summary.browser,
                    os: summary.os,
                    ip: row.ip,
                    signed_in_at,
                    last_seen_at: row.last_seen_at.unwrap_or(signed_in_at),
                }
            })
            .collect())
    }

    /// Ends the session of `user` with public id `id`, on behalf of `by`.
    pub async fn end_session(&self, by: Actor, user: UserId, id: &str) -> Result<(), SessionError> {
        let tx = self.db.begin().await?;
        let Some(ended) = sessions::end_by_public_id(&tx, user, id, self.clock.unix()).await? else {
            return Err(SessionError::NotFound);
        };
        self.record_ended(&tx, &by, user, &[ended]).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user, "session ended");
        Ok(())
    }

    /// Ends every live session of `user` but `keep` (the current one; `None` ends them all),
    /// on behalf of `by`. Returns how many were ended.
    pub async fn end_other_sessions(&self, by: Actor, user: UserId, keep: Option<&SessionId>) -> anyhow::Result<u64> {
        let tx = self.db.begin().await?;
        let ended = sessions::end_live_returning(&tx, user, keep, self.clock.unix()).await?;
        self.record_ended(&tx, &by, user, &ended).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user, ended = ended.len(), "sessions ended");
        Ok(ended.len() as u64)
    }

    /// One `session.revoked` event per ended session, and the end of its online grants.
    async fn record_ended(&self, tx: &Tx, by: &Actor, user: UserId, ended: &[EndedSession]) -> anyhow::Result<()> {
        let now = self.clock.unix();
        for session in ended {
            if let Some(sid) = &session.sid {
                grants::revoke_for_session(tx, sid, now).await?;
            }
            let mut event = Event::new(EventKind::SessionRevoked).actor(by.clone()).user(user);
            if let Some(id) = &session.public_id {
                event = event.detail("session", id.as_str());
            }
            audit::append(tx, self.clock.now_ms(), &event).await?;
        }
        Ok(())
    }
}
