//! The `device_codes` table (RFC 8628): device authorizations from their request to their
//! one redemption. Every change of state is one conditional statement whose affected-row
//! count decides: an answer is given once, a code is redeemed once, a too-early poll raises
//! the interval once.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Store, execute, query_one};
use crate::identity::user::UserId;
use crate::oauth::client::ClientId;
use crate::oauth::scope::Scope;
use crate::oauth::values::Amr;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed]
            .into_iter()
            .find(|v| v.as_str() == s)
            .with_context(|| format!("unknown device code status {s:?}"))
    }
}

/// A device authorization as stored.
#[derive(Debug, Clone)]
pub struct StoredDevice {
    pub client_id: ClientId,
    pub scope: Scope,
    pub status: DeviceStatus,
    /// Who answered, how and when they had authenticated (set with the approval).
    pub user_id: Option<UserId>,
    pub auth_time: Option<i64>,
    pub amr: Vec<Amr>,
    pub interval_secs: i64,
    pub expires_at: i64,
}

#[derive(Debug, FromQueryResult)]
struct DeviceRow {
    client_id: String,
    scope: String,
    status: String,
    user_id: Option<String>,
    auth_time: Option<i64>,
    amr: Option<String>,
    interval_secs: i32,
    expires_at: i64,
}

const COLUMNS: &str = "client_id, scope, status, user_id, auth_time, amr, interval_secs, expires_at";

impl DeviceRow {
    fn into_device(self) -> anyhow::Result<StoredDevice> {
        Ok(StoredDevice {
            client_id: ClientId::new(self.client_id),
            scope: Scope::parse(&self.scope).map_err(anyhow::Error::msg).context("stored scope unreadable")?,
            status: DeviceStatus::parse(&self.status)?,
            user_id: self
                .user_id
                .as_deref()
                .map(|u| UserId::parse(u).context("stored user id unreadable"))
                .transpose()?,
            auth_time: self.auth_time,
            amr: self.amr.unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(Amr::new).collect(),
            interval_secs: i64::from(self.interval_secs),
            expires_at: self.expires_at,
        })
    }
}

/// A new pending authorization, as stored.
pub struct NewDevice<'a> {
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    pub interval_secs: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Stores a new pending authorization; false when the user code's hash is taken (the caller
/// draws another).
pub async fn insert(s: &impl Store, d: &NewDevice<'_>) -> anyhow::Result<bool> {
    let interval = i32::try_from(d.interval_secs).unwrap_or(i32::MAX);
    let n = execute(
        s,
        "INSERT INTO device_codes (device_code_hash, user_code_hash, client_id, scope, status, interval_secs, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) ON CONFLICT (user_code_hash) DO NOTHING",
        vec![
            d.device_code_hash.into(),
            d.user_code_hash.into(),
            d.client_id.into(),
            d.scope.to_string().into(),
            interval.into(),
            d.created_at.into(),
            d.expires_at.into(),
        ],
    )
    .await
    .context("storing a device code")?;
    Ok(n == 1)
}

pub async fn find_by_device_code(s: &impl Store, hash: &str) -> anyhow::Result<Option<StoredDevice>> {
    let row: Option<DeviceRow> =
        query_one(s, &format!("SELECT {COLUMNS} FROM device_codes WHERE device_code_hash = $1"), vec![hash.into()])
            .await
            .context("loading a device code")?;
    row.map(DeviceRow::into_device).transpose()
}

/// The live, unanswered authorization a user code names.
pub async fn find_pending_by_user_code(s: &impl Store, hash: &str, now: i64) -> anyhow::Result<Option<StoredDevice>> {
    let row: Option<DeviceRow> = query_one(
        s,
        &format!(
            "SELECT {COLUMNS} FROM device_codes WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2"
        ),
        vec![hash.into(), now.into()],
    )
    .await
    .context("looking up a user code")?;
    row.map(DeviceRow::into_device).transpose()
}

/// The person's answer: true for exactly one answer while the code is pending and live.
pub async fn answer(
    s: &impl Store,
    user_code_hash: &str,
    approved: bool,
    user: UserId,
    auth_time: i64,
    amr: &[Amr],
    now: i64,
) -> anyhow::Result<bool> {
    let status = if approved { DeviceStatus::Approved } else { DeviceStatus::Denied };
    let amr = amr.iter().map(Amr::as_str).collect::<Vec<_>>().join(" ");
    let n = execute(
        s,
        "UPDATE device_codes SET status = $1, user_id = $2, auth_time = $3, amr = $4, decided_at = $5 \
         WHERE user_code_hash = $6 AND status = 'pending' AND expires_at > $5",
        vec![
            status.as_str().into(),
            user.to_string().into(),
            auth_time.into(),
            amr.into(),
            now.into(),
            user_code_hash.into(),
        ],
    )
    .await
    .context("answering a device authorization")?;
    Ok(n == 1)
}

/// RFC 8628 §3.5 pacing: when the previous poll was less than the interval ago, raises the
/// interval by `step` and answers true (`slow_down`); otherwise records this poll.
pub async fn poll(s: &impl Store, device_code_hash: &str, now: i64, step: i64) -> anyhow::Result<bool> {
    let step = i32::try_from(step).unwrap_or(5);
    let too_soon = execute(
        s,
        "UPDATE device_codes SET interval_secs = interval_secs + $1, last_poll_at = $2 \
         WHERE device_code_hash = $3 AND last_poll_at IS NOT NULL AND last_poll_at + interval_secs > $2",
        vec![step.into(), now.into(), device_code_hash.into()],
    )
    .await
    .context("pacing a device poll")?;
    if too_soon == 1 {
        return Ok(true);
    }
    execute(
        s,
        "UPDATE device_codes SET last_poll_at = $1 WHERE device_code_hash = $2",
        vec![now.into(), device_code_hash.into()],
    )
    .await
    .context("recording a device poll")?;
    Ok(false)
}

/// Redeems an approved authorization: true for exactly one caller.
pub async fn redeem(s: &impl Store, device_code_hash: &str, now: i64) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE device_codes SET status = 'redeemed' WHERE device_code_hash = $1 AND status = 'approved' AND expires_at > $2",
        vec![device_code_hash.into(), now.into()],
    )
    .await
    .context("redeeming a device code")?
        == 1)
}

/// Housekeeping: authorizations expired more than `grace` seconds ago.
pub async fn purge_expired(s: &impl Store, now: i64, grace: i64) -> anyhow::Result<u64> {
    execute(s, "DELETE FROM device_codes WHERE expires_at < $1", vec![(now - grace).into()])
        .await
        .context("purging device codes")
}
