//! Single-use tokens sent by e-mail. Only the SHA-256 of a token is stored, each token has
//! one purpose, and using one is a single conditional `UPDATE … RETURNING`: of two parallel
//! uses exactly one gets the row.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Store, execute, query_one};
use crate::identity::user::UserId;

/// What a token is for; a token of one purpose never serves another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ChangeEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// The user a live token belongs to, and the address it was sent to.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub user_id: UserId,
    pub email: String,
}

/// The `user_id, email` of an `email_tokens` row.
#[derive(Debug, FromQueryResult)]
struct GrantRow {
    user_id: String,
    email: String,
}

#[derive(Debug, FromQueryResult)]
struct EmailRow {
    email: String,
}

fn grant(row: Option<GrantRow>) -> anyhow::Result<Option<TokenGrant>> {
    Ok(row.and_then(|r| UserId::parse(&r.user_id).map(|user_id| TokenGrant { user_id, email: r.email })))
}

pub async fn insert(
    s: &impl Store,
    token_hash: &str,
    user: UserId,
    purpose: Purpose,
    email: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    execute(
        s,
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![token_hash.into(), user.to_string().into(), purpose.as_str().into(), email.into(), now.into(), expires_at.into()],
    )
    .await
    .context("storing an e-mail token")?;
    Ok(())
}

/// Voids every unused token of this purpose for the user (a newer one replaces them, or the
/// job is done).
pub async fn void_all(s: &impl Store, user: UserId, purpose: Purpose, now: i64) -> anyhow::Result<u64> {
    execute(
        s,
        "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
        vec![now.into(), user.to_string().into(), purpose.as_str().into()],
    )
    .await
    .context("voiding e-mail tokens")
}

/// Uses the token: succeeds for exactly one caller while it is unused and unexpired.
pub async fn consume(
    s: &impl Store,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> anyhow::Result<Option<TokenGrant>> {
    let row = query_one(
        s,
        "UPDATE email_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email",
        vec![now.into(), token_hash.into(), purpose.as_str().into()],
    )
    .await
    .context("using an e-mail token")?;
    grant(row)
}

/// Looks at a token without using it (to show the form a token leads to).
pub async fn peek(s: &impl Store, token_hash: &str, purpose: Purpose, now: i64) -> anyhow::Result<Option<TokenGrant>> {
    let row = query_one(
        s,
        "SELECT user_id, email FROM email_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        vec![token_hash.into(), purpose.as_str().into(), now.into()],
    )
    .await
    .context("reading an e-mail token")?;
    grant(row)
}

/// The address waiting for confirmation in a pending e-mail change, if any.
pub async fn pending_email_change(s: &impl Store, user: UserId, now: i64) -> anyhow::Result<Option<String>> {
    let row: Option<EmailRow> = query_one(
        s,
        "SELECT email FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         ORDER BY created_at DESC LIMIT 1",
        vec![user.to_string().into(), Purpose::ChangeEmail.as_str().into(), now.into()],
    )
    .await
    .context("reading a pending e-mail change")?;
    Ok(row.map(|r| r.email))
}

/// Housekeeping: tokens past their expiry serve nothing.
pub async fn purge_expired(s: &impl Store, now: i64) -> anyhow::Result<u64> {
    execute(s, "DELETE FROM email_tokens WHERE expires_at < $1", vec![now.into()])
        .await
        .context("purging e-mail tokens")
}
