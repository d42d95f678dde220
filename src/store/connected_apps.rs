//! What a person has let clients do, read per client: remembered consents and live grants,
//! and withdrawing both at once. Revoking a grant is what ends its refresh tokens (the token
//! endpoint checks the grant) and its access tokens (`/userinfo`, introspection and the API
//! ask `grants::access_recalled`), exactly as RFC 7009 revocation does.

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Store, execute, query_all};
use crate::identity::user::UserId;

/// A consent the person gave a client, remembered so the next authorization does not ask.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ConsentRow {
    pub client_id: String,
    pub scope: String,
    pub granted_at: i64,
}

/// A live grant: not revoked, and something issued from it may still be alive.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct GrantRow {
    pub client_id: String,
    pub created_at: i64,
    /// The scope of its newest refresh token, else of its code.
    pub scope: Option<String>,
}

/// The remembered consents of `user`, except for `skip_client` (the built-in API client).
pub async fn consents(s: &impl Store, user: UserId, skip_client: &str) -> anyhow::Result<Vec<ConsentRow>> {
    let rows: Vec<ConsentRow> = query_all(
        s,
        "SELECT client_id, scope, granted_at FROM consents WHERE user_id = $1 AND client_id <> $2",
        vec![user.to_string().into(), skip_client.into()],
    )
    .await
    .context("listing a user's consents")?;
    Ok(rows)
}

/// The live grants of `user`, except for `skip_client`: not revoked, and either younger than
/// `access_since` (an access token from it may be valid) or holding an unused, unexpired
/// refresh token at `now`.
pub async fn live_grants(
    s: &impl Store,
    user: UserId,
    skip_client: &str,
    access_since: i64,
    now: i64,
) -> anyhow::Result<Vec<GrantRow>> {
    let rows: Vec<GrantRow> = query_all(
        s,
        "SELECT g.client_id AS client_id, g.created_at AS created_at, \
                COALESCE((SELECT r.scope FROM refresh_tokens r WHERE r.grant_id = g.id \
                          ORDER BY r.created_at DESC LIMIT 1), \
                         (SELECT c.scope FROM authorization_codes c WHERE c.grant_id = g.id LIMIT 1)) AS scope \
         FROM grants g \
         WHERE g.user_id = $1 AND g.client_id <> $2 AND g.revoked_at IS NULL \
           AND (g.created_at > $3 OR EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.grant_id = g.id \
                AND r.used_at IS NULL AND r.expires_at > $4 AND r.idle_expires_at > $4)) \
         ORDER BY g.created_at",
        vec![user.to_string().into(), skip_client.into(), access_since.into(), now.into()],
    )
    .await
    .context("listing a user's live grants")?;
    Ok(rows)
}

/// Revokes every grant of `user` for `client_id` (their refresh and access tokens with them).
pub async fn revoke_grants(s: &impl Store, user: UserId, client_id: &str, now: i64) -> anyhow::Result<u64> {
    execute(
        s,
        "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
        vec![now.into(), user.to_string().into(), client_id.into()],
    )
    .await
    .context("revoking a client's grants")
}

/// Forgets the consent `user` gave `client_id`: the next authorization asks again.
pub async fn forget_consent(s: &impl Store, user: UserId, client_id: &str) -> anyhow::Result<u64> {
    execute(
        s,
        "DELETE FROM consents WHERE user_id = $1 AND client_id = $2",
        vec![user.to_string().into(), client_id.into()],
    )
    .await
    .context("forgetting a consent")
}
