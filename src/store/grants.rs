//! Grants, authorization codes, refresh tokens, consents and revoked token ids. A grant is
//! what one authorization produced; revoking it ends every token issued from it.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Count, Store, execute, query_one};
use crate::identity::user::UserId;
use crate::oauth::client::ClientId;
use crate::oauth::scope::Scope;
use crate::oauth::values::{Amr, GrantId};

/// A new grant (one authorization of one client by one user).
pub async fn insert_grant(
    s: &impl Store,
    id: &str,
    user: UserId,
    client_id: &str,
    sid: Option<&str>,
    offline: bool,
    now: i64,
) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO grants (id, user_id, client_id, sid, offline, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            id.into(),
            user.to_string().into(),
            client_id.into(),
            sid.map(str::to_string).into(),
            offline.into(),
            now.into(),
        ],
    )
    .await
    .context("storing a grant")?;
    Ok(())
}

/// Is the grant still live (exists, not revoked)?
pub async fn grant_live(s: &impl Store, id: &str) -> anyhow::Result<bool> {
    let row: Option<Count> =
        query_one(s, "SELECT COUNT(*) AS n FROM grants WHERE id = $1 AND revoked_at IS NULL", vec![id.into()])
            .await
            .context("checking a grant")?;
    Ok(row.is_some_and(|c| c.n > 0))
}

pub async fn revoke_grant(s: &impl Store, id: &str, now: i64) -> anyhow::Result<u64> {
    execute(s, "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", vec![now.into(), id.into()])
        .await
        .context("revoking a grant")
}

/// Everything a user ever authorized (password change or reset, account disabled).
pub async fn revoke_all_for_user(s: &impl Store, user: UserId, now: i64) -> anyhow::Result<u64> {
    execute(
        s,
        "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        vec![now.into(), user.to_string().into()],
    )
    .await
    .context("revoking a user's grants")
}

/// The online (non-`offline_access`) grants of one browser session, at logout.
pub async fn revoke_for_session(s: &impl Store, sid: &str, now: i64) -> anyhow::Result<u64> {
    execute(
        s,
        "UPDATE grants SET revoked_at = $1 WHERE sid = $2 AND offline = $3 AND revoked_at IS NULL",
        vec![now.into(), sid.into(), false.into()],
    )
    .await
    .context("revoking a session's grants")
}

/// An authorization code as stored.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    pub sid: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// An `authorization_codes` row, read by column name.
#[derive(Debug, FromQueryResult)]
struct CodeRow {
    grant_id: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: String,
    auth_time: i64,
    amr: String,
    sid: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
}

impl CodeRow {
    fn into_code(self) -> anyhow::Result<StoredCode> {
        Ok(StoredCode {
            grant_id: GrantId::new(self.grant_id),
            client_id: ClientId::new(self.client_id),
            user_id: user_id_of(&self.user_id)?,
            redirect_uri: self.redirect_uri,
            scope: scope_of(&self.scope)?,
            nonce: self.nonce,
            code_challenge: self.code_challenge,
            auth_time: self.auth_time,
            amr: amr_of(&self.amr),
            sid: self.sid,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

pub async fn insert_code(s: &impl Store, code_hash: &str, c: &StoredCode) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO authorization_codes (code_hash, grant_id, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, sid, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        vec![
            code_hash.into(),
            c.grant_id.as_str().into(),
            c.client_id.as_str().into(),
            c.user_id.to_string().into(),
            c.redirect_uri.clone().into(),
            c.scope.to_string().into(),
            c.nonce.clone().into(),
            c.code_challenge.clone().into(),
            c.auth_time.into(),
            amr_column(&c.amr).into(),
            c.sid.clone().into(),
            c.expires_at.into(),
        ],
    )
    .await
    .context("storing an authorization code")?;
    Ok(())
}

pub async fn find_code(s: &impl Store, code_hash: &str) -> anyhow::Result<Option<StoredCode>> {
    let row: Option<CodeRow> = query_one(
        s,
        "SELECT grant_id, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, sid, expires_at, used_at \
         FROM authorization_codes WHERE code_hash = $1",
        vec![code_hash.into()],
    )
    .await
    .context("loading an authorization code")?;
    row.map(CodeRow::into_code).transpose()
}

/// The `amr` column: the methods joined by spaces.
fn amr_column(amr: &[Amr]) -> String {
    amr.iter().map(Amr::as_str).collect::<Vec<_>>().join(" ")
}

fn amr_of(column: &str) -> Vec<Amr> {
    column.split(' ').filter(|s| !s.is_empty()).map(Amr::new).collect()
}

fn user_id_of(column: &str) -> anyhow::Result<UserId> {
    UserId::parse(column).context("stored user id unreadable")
}

fn scope_of(column: &str) -> anyhow::Result<Scope> {
    Scope::parse(column).map_err(anyhow::Error::msg).context("stored scope unreadable")
}

/// Redeems a code: true for exactly one caller while it is unused and unexpired.
pub async fn use_code(s: &impl Store, code_hash: &str, now: i64) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
        vec![now.into(), code_hash.into()],
    )
    .await
    .context("redeeming an authorization code")?
        == 1)
}

/// A refresh token as stored.
#[derive(Debug, Clone)]
pub struct StoredRefresh {
    pub grant_id: GrantId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub scope: Scope,
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    pub expires_at: i64,
    pub idle_expires_at: i64,
    /// When it was rotated (seconds), and the same instant in milliseconds (grace window).
    pub used_at: Option<i64>,
    pub used_at_ms: Option<i64>,
    /// The sealed successor, kept only while a grace window is configured.
    pub successor: Option<String>,
}

/// A `refresh_tokens` row, read by column name.
#[derive(Debug, FromQueryResult)]
struct RefreshRow {
    grant_id: String,
    client_id: String,
    user_id: String,
    scope: String,
    auth_time: i64,
    amr: String,
    expires_at: i64,
    idle_expires_at: i64,
    used_at: Option<i64>,
    used_at_ms: Option<i64>,
    successor: Option<String>,
}

impl RefreshRow {
    fn into_refresh(self) -> anyhow::Result<StoredRefresh> {
        Ok(StoredRefresh {
            grant_id: GrantId::new(self.grant_id),
            client_id: ClientId::new(self.client_id),
            user_id: user_id_of(&self.user_id)?,
            scope: scope_of(&self.scope)?,
            auth_time: self.auth_time,
            amr: amr_of(&self.amr),
            expires_at: self.expires_at,
            idle_expires_at: self.idle_expires_at,
            used_at: self.used_at,
            used_at_ms: self.used_at_ms,
            successor: self.successor,
        })
    }
}

pub async fn insert_refresh(s: &impl Store, token_hash: &str, r: &StoredRefresh, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, user_id, scope, auth_time, amr, created_at, expires_at, idle_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            token_hash.into(),
            r.grant_id.as_str().into(),
            r.client_id.as_str().into(),
            r.user_id.to_string().into(),
            r.scope.to_string().into(),
            r.auth_time.into(),
            amr_column(&r.amr).into(),
            now.into(),
            r.expires_at.into(),
            r.idle_expires_at.into(),
        ],
    )
    .await
    .context("storing a refresh token")?;
    Ok(())
}

const REFRESH_COLUMNS: &str = "r.grant_id, r.client_id, r.user_id, r.scope, r.auth_time, r.amr, r.expires_at, r.idle_expires_at, r.used_at, r.successor, r.used_at_ms";

pub async fn find_refresh(s: &impl Store, token_hash: &str) -> anyhow::Result<Option<StoredRefresh>> {
    let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens r WHERE r.token_hash = $1");
    let row: Option<RefreshRow> =
        query_one(s, &sql, vec![token_hash.into()]).await.context("loading a refresh token")?;
    row.map(RefreshRow::into_refresh).transpose()
}

/// A refresh token with what its grant says: live or not, and the browser session it came
/// from (the `sid` of every ID token the grant issues).
#[derive(Debug, Clone)]
pub struct RefreshWithGrant {
    pub token: StoredRefresh,
    pub grant_live: bool,
    pub sid: Option<String>,
}

/// The row of [`find_refresh_and_grant`]: the token's columns plus its grant's.
#[derive(Debug, FromQueryResult)]
struct RefreshGrantRow {
    #[sea_orm(nested)]
    token: RefreshRow,
    live_grants: i64,
    grant_sid: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct RecalledRow {
    revoked: i64,
    live_grants: i64,
}

#[derive(Debug, FromQueryResult)]
struct ScopeRow {
    scope: String,
}

/// A refresh token and its grant, in one round trip (the refresh hot path).
pub async fn find_refresh_and_grant(s: &impl Store, token_hash: &str) -> anyhow::Result<Option<RefreshWithGrant>> {
    let sql = format!(
        "SELECT {REFRESH_COLUMNS}, \
                (SELECT COUNT(*) FROM grants g WHERE g.id = r.grant_id AND g.revoked_at IS NULL) AS live_grants, \
                (SELECT g.sid FROM grants g WHERE g.id = r.grant_id) AS grant_sid \
         FROM refresh_tokens r WHERE r.token_hash = $1"
    );
    let row: Option<RefreshGrantRow> =
        query_one(s, &sql, vec![token_hash.into()]).await.context("loading a refresh token")?;
    row.map(|r| {
        Ok(RefreshWithGrant { token: r.token.into_refresh()?, grant_live: r.live_grants > 0, sid: r.grant_sid })
    })
    .transpose()
}

/// Whether an access token is recalled: its `jti` revoked, or its grant (when it names one)
/// revoked or gone. One round trip (every bearer request asks).
pub async fn access_recalled(s: &impl Store, jti: &str, grant_id: Option<&str>) -> anyhow::Result<bool> {
    let row: RecalledRow = query_one(
        s,
        "SELECT (SELECT COUNT(*) FROM revoked_tokens WHERE jti = $1) AS revoked, \
                (SELECT COUNT(*) FROM grants WHERE id = $2 AND revoked_at IS NULL) AS live_grants",
        vec![jti.into(), grant_id.unwrap_or_default().into()],
    )
    .await
    .context("checking a token id")?
    .ok_or_else(|| anyhow::anyhow!("no row from a scalar query"))?;
    Ok(row.revoked > 0 || (grant_id.is_some() && row.live_grants == 0))
}

/// Rotates a refresh token: marks it used (at `now_ms`, and in whole seconds) and records
/// its sealed successor when a grace window needs it, for exactly one caller.
pub async fn rotate_refresh(
    s: &impl Store,
    token_hash: &str,
    sealed_successor: Option<&str>,
    now_ms: i64,
) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE refresh_tokens SET used_at = $1, used_at_ms = $2, successor = $3 WHERE token_hash = $4 AND used_at IS NULL",
        vec![
            now_ms.div_euclid(1000).into(),
            now_ms.into(),
            sealed_successor.map(str::to_string).into(),
            token_hash.into(),
        ],
    )
    .await
    .context("rotating a refresh token")?
        == 1)
}

/// The scope a user granted a client, if any.
pub async fn consent(s: &impl Store, user: UserId, client_id: &str) -> anyhow::Result<Option<String>> {
    let row: Option<ScopeRow> = query_one(
        s,
        "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2",
        vec![user.to_string().into(), client_id.into()],
    )
    .await
    .context("loading a consent")?;
    Ok(row.map(|r| r.scope))
}

pub async fn save_consent(s: &impl Store, user: UserId, client_id: &str, scope: &str, now: i64) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = $3, granted_at = $4",
        vec![user.to_string().into(), client_id.into(), scope.into(), now.into()],
    )
    .await
    .context("saving a consent")?;
    Ok(())
}

pub async fn revoke_jti(s: &impl Store, jti: &str, expires_at: i64) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        vec![jti.into(), expires_at.into()],
    )
    .await
    .context("revoking an access token")?;
    Ok(())
}

/// Housekeeping: codes, refresh tokens and revoked ids past their expiry; revoked grants
/// once nothing issued from them can be alive (`grace` after revocation).
pub async fn purge_expired(s: &impl Store, now: i64, grace: i64) -> anyhow::Result<u64> {
    let mut n = 0;
    for (sql, at) in [
        ("DELETE FROM authorization_codes WHERE expires_at < $1", now - 600),
        ("DELETE FROM refresh_tokens WHERE expires_at < $1", now),
        ("DELETE FROM revoked_tokens WHERE expires_at < $1", now),
        // A rotated token's successor is only needed during the grace window (at most 5 s).
        ("UPDATE refresh_tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < $1", now - 60),
        ("DELETE FROM grants WHERE revoked_at IS NOT NULL AND revoked_at < $1", now - grace),
        // Grants nothing live can come from any more: no unexpired refresh token, and older
        // than any access token or code they issued.
        (
            "DELETE FROM grants WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = grants.id AND r.expires_at > $1)",
            now - grace - 3600,
        ),
    ] {
        n += execute(s, sql, vec![at.into()]).await.context("purging expired grants")?;
    }
    Ok(n)
}
