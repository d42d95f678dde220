//! Browser sessions on our own `sessions` table (the HTTP edge adapts this repository to
//! its session library, see `http::session_store`).
//!
//! Rows are keyed by the SHA-256 of the session id, so a copy of the table opens no
//! sessions. Expiry uses the application [`Clock`](crate::clock::Clock): a session ends
//! `idle` seconds after its last use or `absolute` seconds after it was created (at login,
//! since login cycles the id), whichever comes first. "Last use" is kept coarsely so that a
//! page view costs no write: loading a session slides its idle deadline only once it has
//! fallen [`SessionRepo::touch_step`] behind (a tenth of the idle timeout, at most
//! [`TOUCH_STEP_MAX_SECS`]), so an active session is written at most once per step, and an
//! idle one ends between `idle - step` and `idle` seconds after its last request (never
//! later). A save (the session's data changed) slides it too. The `user_id`, `sid` and
//! `signed_in_at` columns mirror the session data ([`SessionFacts`]) so every session of a
//! user can be listed and ended.
//!
//! Each row also carries a public id (random, unrelated to the secret id: the one a person
//! and an admin see and end a session by) and where it was last seen: IP and user agent of
//! the request (from [`crate::audit::context`]) and `last_seen_at`, refreshed at most once
//! every [`LAST_SEEN_STEP_SECS`], never on every request.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_all, query_one};
use crate::clock::SharedClock;
use crate::identity::session::SessionId;
use crate::identity::user::UserId;

/// The session data key holding the logged-in user's id.
pub const USER_ID_KEY: &str = "user_id";
/// The session data key holding the sign-in's stable id (the `sid` of ID tokens).
pub const SID_KEY: &str = "sid";
/// The session data key holding when the user signed in (Unix seconds).
pub const AUTH_TIME_KEY: &str = "auth_time";
/// `last_seen_at` (with IP and user agent) is written again only once it is this old.
pub const LAST_SEEN_STEP_SECS: i64 = 300;
/// The longest a session's idle deadline may lag its last request before a load writes it.
pub const TOUCH_STEP_MAX_SECS: i64 = 300;

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

/// What the session data says about the sign-in, mirrored into columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFacts {
    /// [`USER_ID_KEY`]
    pub user_id: Option<String>,
    /// [`SID_KEY`]
    pub sid: Option<String>,
    /// [`AUTH_TIME_KEY`]
    pub signed_in_at: Option<i64>,
}

/// A signed-in session as listed to its owner or an admin.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct SessionRow {
    pub id_hash: String,
    pub public_id: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub signed_in_at: Option<i64>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

/// An ended session: its public id, and the sign-in whose online grants end with it.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct EndedSession {
    pub public_id: Option<String>,
    pub sid: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct DataRow {
    data: String,
    expires_at: i64,
    created_at: i64,
}

/// A fresh public id: 128 random bits, URL-safe.
fn new_public_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::secret::random_bytes::<16>())
}

/// IP and user agent of the current request, if there is one.
fn seen_from() -> (Option<String>, Option<String>) {
    let meta = crate::audit::context::current();
    (meta.ip.map(|ip| ip.to_string()), meta.user_agent)
}

impl SessionRepo {
    pub fn new(db: Db, clock: SharedClock, idle_secs: i64, absolute_secs: i64) -> Self {
        Self { db, clock, idle_secs, absolute_secs }
    }

    /// Housekeeping: removes expired rows.
    pub async fn purge_expired(&self) -> anyhow::Result<u64> {
        execute(&self.db, "DELETE FROM sessions WHERE expires_at <= $1", vec![self.clock.unix().into()])
            .await
            .context("purging expired sessions")
    }

    /// Stores a new session; `false` when a row with that id exists already (it is left as
    /// it is).
    pub async fn insert(&self, id: &SessionId, facts: &SessionFacts, data: String) -> anyhow::Result<bool> {
        let now = self.clock.unix();
        let expires_at = now + self.idle_secs.min(self.absolute_secs);
        let (ip, user_agent) = seen_from();
        let inserted = execute(
            &self.db,
            "INSERT INTO sessions (id_hash, user_id, sid, signed_in_at, data, created_at, expires_at, \
                                   public_id, ip, user_agent, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $6) ON CONFLICT (id_hash) DO NOTHING",
            vec![
                id.hash().into(),
                facts.user_id.clone().into(),
                facts.sid.clone().into(),
                facts.signed_in_at.into(),
                data.into(),
                now.into(),
                expires_at.into(),
                new_public_id().into(),
                ip.into(),
                user_agent.into(),
            ],
        )
        .await
        .context("storing a session")?;
        Ok(inserted == 1)
    }

    /// Saves a live session's data and slides its idle deadline, never past the absolute one;
    /// where it was seen is written only once the last record is [`LAST_SEEN_STEP_SECS`] old.
    /// A row deleted meanwhile (logout elsewhere, password change) stays deleted: updating
    /// nothing is right.
    pub async fn save(&self, id: &SessionId, facts: &SessionFacts, data: String) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let (ip, user_agent) = seen_from();
        execute(
            &self.db,
            "UPDATE sessions SET data = $1, user_id = $2, sid = $3, signed_in_at = $4, \
                 expires_at = CASE WHEN created_at + $5 < $6 THEN created_at + $5 ELSE $6 END, \
                 public_id = COALESCE(public_id, $7), \
                 ip = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $8 THEN COALESCE($9, ip) ELSE ip END, \
                 user_agent = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $8 \
                                   THEN COALESCE($10, user_agent) ELSE user_agent END, \
                 last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $8 THEN $11 ELSE last_seen_at END \
             WHERE id_hash = $12 AND expires_at > $11",
            vec![
                data.into(),
                facts.user_id.clone().into(),
                facts.sid.clone().into(),
                facts.signed_in_at.into(),
                self.absolute_secs.into(),
                (now + self.idle_secs).into(),
                new_public_id().into(),
                (now - LAST_SEEN_STEP_SECS).into(),
                ip.into(),
                user_agent.into(),
                now.into(),
                id.hash().into(),
            ],
        )
        .await
        .context("saving a session")?;
        Ok(())
    }

    /// How far a session's idle deadline may lag before a load slides it (with a write): a
    /// tenth of the idle timeout, between 1 s and [`TOUCH_STEP_MAX_SECS`].
    pub fn touch_step(&self) -> i64 {
        (self.idle_secs / 10).clamp(1, TOUCH_STEP_MAX_SECS)
    }

    /// The session with that id, unless it has ended. A session in use is kept alive here:
    /// once its idle deadline lags the one this request earns by [`Self::touch_step`] or
    /// more, it is slid (never past the absolute deadline) with where it was seen; otherwise
    /// nothing is written.
    pub async fn load(&self, id: &SessionId) -> anyhow::Result<Option<StoredSession>> {
        let now = self.clock.unix();
        let row: Option<DataRow> = query_one(
            &self.db,
            "SELECT data, expires_at, created_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
            vec![id.hash().into(), now.into()],
        )
        .await
        .context("loading a session")?;
        let Some(row) = row else { return Ok(None) };
        let earned = (now + self.idle_secs).min(row.created_at + self.absolute_secs);
        let mut expires_at = row.expires_at;
        if earned - expires_at >= self.touch_step() && self.touch(id, earned, now).await? {
            expires_at = earned;
        }
        Ok(Some(StoredSession { data: row.data, expires_at }))
    }

    /// Slides a live session's idle deadline forward to `until` (never backward: a request
    /// that raced ahead may have slid it further), and where it was seen, once the last
    /// record is [`LAST_SEEN_STEP_SECS`] old. True when the row was updated.
    async fn touch(&self, id: &SessionId, until: i64, now: i64) -> anyhow::Result<bool> {
        let (ip, user_agent) = seen_from();
        let updated = execute(
            &self.db,
            "UPDATE sessions SET expires_at = $1, \
                 ip = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $2 THEN COALESCE($3, ip) ELSE ip END, \
                 user_agent = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $2 \
                                   THEN COALESCE($4, user_agent) ELSE user_agent END, \
                 last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at <= $2 THEN $5 ELSE last_seen_at END \
             WHERE id_hash = $6 AND expires_at > $5 AND expires_at < $1",
            vec![
                until.into(),
                (now - LAST_SEEN_STEP_SECS).into(),
                ip.into(),
                user_agent.into(),
                now.into(),
                id.hash().into(),
            ],
        )
        .await
        .context("keeping a session alive")?;
        Ok(updated == 1)
    }

    pub async fn delete(&self, id: &SessionId) -> anyhow::Result<()> {
        execute(&self.db, "DELETE FROM sessions WHERE id_hash = $1", vec![id.hash().into()])
            .await
            .context("deleting a session")?;
        Ok(())
    }
}

/// Ends every session of `user` except `keep` (the one making the change), on `s` (which
/// may be the transaction of that change).
pub async fn end_all_for_user(s: &impl Store, user: UserId, keep: Option<SessionId>) -> anyhow::Result<u64> {
    let keep = keep.map(|id| id.hash()).unwrap_or_default();
    execute(s, "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", vec![user.to_string().into(), keep.into()])
        .await
        .context("ending a user's sessions")
}

/// Ends the live sessions of `user` except `keep`, returning what was ended (for its audit
/// events and grants). Expired rows are left to housekeeping.
pub async fn end_live_returning(
    s: &impl Store,
    user: UserId,
    keep: Option<&SessionId>,
    now: i64,
) -> anyhow::Result<Vec<EndedSession>> {
    let keep = keep.map(SessionId::hash).unwrap_or_default();
    let rows: Vec<EndedSession> = query_all(
        s,
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 AND expires_at > $3 RETURNING public_id, sid",
        vec![user.to_string().into(), keep.into(), now.into()],
    )
    .await
    .context("ending a user's sessions")?;
    Ok(rows)
}

/// Ends the live session of `user` with this public id; `None` when there is none (another
/// user's id is none too).
pub async fn end_by_public_id(
    s: &impl Store,
    user: UserId,
    public_id: &str,
    now: i64,
) -> anyhow::Result<Option<EndedSession>> {
    let row: Option<EndedSession> = query_one(
        s,
        "DELETE FROM sessions WHERE user_id = $1 AND public_id = $2 AND expires_at > $3 RETURNING public_id, sid",
        vec![user.to_string().into(), public_id.into(), now.into()],
    )
    .await
    .context("ending a session")?;
    Ok(row)
}

/// The live signed-in sessions of `user`, most recently seen first.
pub async fn list_for_user(s: &impl Store, user: UserId, now: i64) -> anyhow::Result<Vec<SessionRow>> {
    let rows: Vec<SessionRow> = query_all(
        s,
        "SELECT id_hash, public_id, user_agent, ip, signed_in_at, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 AND public_id IS NOT NULL \
         ORDER BY COALESCE(last_seen_at, created_at) DESC, public_id",
        vec![user.to_string().into(), now.into()],
    )
    .await
    .context("listing a user's sessions")?;
    Ok(rows)
}

/// How many known devices `user` has (see `store::throttle`): the new-device notice is not
/// sent for an account's very first one.
pub async fn known_device_count(s: &impl Store, user: UserId) -> anyhow::Result<i64> {
    let row: Option<super::Count> =
        query_one(s, "SELECT COUNT(*) AS n FROM known_devices WHERE user_id = $1", vec![user.to_string().into()])
            .await
            .context("counting known devices")?;
    Ok(row.map_or(0, |c| c.n))
}

/// Ends one session on `s` (a sign-out's transaction); true when its row was still there.
pub async fn end(s: &impl Store, id: &SessionId) -> anyhow::Result<bool> {
    Ok(execute(s, "DELETE FROM sessions WHERE id_hash = $1", vec![id.hash().into()])
        .await
        .context("ending a session")?
        == 1)
}
