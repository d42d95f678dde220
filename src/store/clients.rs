//! The `oauth_clients` table. List columns hold JSON arrays.
//! (Rows are still read by index here; converting to column names is issue 21 work.)

use anyhow::Context;
use sea_orm::FromQueryResult;

use super::{Db, Store, execute, query_all, query_one};
use crate::oauth::client::{Client, GrantType};
use crate::oauth::keys::Alg;
use crate::oauth::redirect::RedirectUri;
use crate::oauth::scope::Scope;

const COLUMNS: &str = "id, name, secret_hash, is_public, first_party, redirect_uris, post_logout_redirect_uris, grant_types, scopes, audiences, require_mfa, api_access, introspect_any, id_token_signed_response_alg, id_token_on_refresh";

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// An `oauth_clients` row, read by column name.
#[derive(Debug, FromQueryResult)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    is_public: bool,
    first_party: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    audiences: String,
    require_mfa: bool,
    api_access: bool,
    introspect_any: bool,
    id_token_signed_response_alg: Option<String>,
    id_token_on_refresh: bool,
}

fn list_of(raw: &str) -> anyhow::Result<Vec<String>> {
    serde_json::from_str(raw).context("client list column")
}

fn from_row(r: ClientRow) -> anyhow::Result<Client> {
    Ok(Client {
        id: r.id,
        name: r.name,
        secret_hash: r.secret_hash,
        public: r.is_public,
        first_party: r.first_party,
        redirect_uris: list_of(&r.redirect_uris)?.into_iter().map(RedirectUri::from_stored).collect(),
        post_logout_redirect_uris: list_of(&r.post_logout_redirect_uris)?
            .into_iter()
            .map(RedirectUri::from_stored)
            .collect(),
        grant_types: list_of(&r.grant_types)?.iter().filter_map(|g| GrantType::parse(g)).collect(),
        scopes: Scope::from_names(list_of(&r.scopes)?),
        audiences: list_of(&r.audiences)?,
        require_mfa: r.require_mfa,
        api_access: r.api_access,
        introspect_any: r.introspect_any,
        // An algorithm this build no longer signs with falls back to the server's default.
        id_token_alg: r.id_token_signed_response_alg.as_deref().and_then(Alg::parse),
        id_token_on_refresh: r.id_token_on_refresh,
    })
}

pub async fn find(s: &impl Store, id: &str) -> anyhow::Result<Option<Client>> {
    let row: Option<ClientRow> =
        query_one(s, &format!("SELECT {COLUMNS} FROM oauth_clients WHERE id = $1"), vec![id.into()])
            .await
            .context("loading a client")?;
    row.map(from_row).transpose()
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<Client>> {
    let rows: Vec<ClientRow> = query_all(db, &format!("SELECT {COLUMNS} FROM oauth_clients ORDER BY id"), vec![])
        .await
        .context("listing clients")?;
    rows.into_iter().map(from_row).collect()
}

/// Inserts a client; false when the id is taken. A UUID-shaped id is refused here too, so no
/// path that creates clients can make one that collides with a user id.
pub async fn insert(db: &impl Store, c: &Client, now: i64) -> anyhow::Result<bool> {
    if let Err(reason) = crate::oauth::client::check_new_client_id(&c.id) {
        anyhow::bail!("refusing to store client {:?}: {reason}", c.id);
    }
    let inserted = execute(
        db,
        &format!("INSERT INTO oauth_clients ({COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $13, $14, $15, $16, $11, $11) ON CONFLICT (id) DO NOTHING"),
        vec![
            c.id.clone().into(),
            c.name.clone().into(),
            c.secret_hash.clone().into(),
            c.public.into(),
            c.first_party.into(),
            json_list(&c.redirect_uris.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>()).into(),
            json_list(&c.post_logout_redirect_uris.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>()).into(),
            json_list(&c.grant_types.iter().map(|g| g.as_str().to_string()).collect::<Vec<_>>()).into(),
            json_list(&c.scopes.iter().map(str::to_string).collect::<Vec<_>>()).into(),
            json_list(&c.audiences).into(),
            now.into(),
            c.require_mfa.into(),
            c.api_access.into(),
            c.introspect_any.into(),
            c.id_token_alg.map(|a| a.name().to_string()).into(),
            c.id_token_on_refresh.into(),
        ],
    )
    .await
    .context("storing a client")?;
    Ok(inserted == 1)
}

pub async fn remove(db: &impl Store, id: &str) -> anyhow::Result<bool> {
    Ok(execute(db, "DELETE FROM oauth_clients WHERE id = $1", vec![id.into()]).await.context("removing a client")? == 1)
}

pub async fn set_secret_hash(db: &impl Store, id: &str, hash: &str, now: i64) -> anyhow::Result<bool> {
    Ok(execute(
        db,
        "UPDATE oauth_clients SET secret_hash = $1, updated_at = $2 WHERE id = $3 AND is_public = $4",
        vec![hash.into(), now.into(), id.into(), false.into()],
    )
    .await
    .context("rotating a client secret")?
        == 1)
}

/// Writes a client's changeable settings (name, URIs, grants, scopes, first-party, MFA); its
/// id, kind, secret, audiences and API rights stay. False when there is no such client.
pub async fn update(s: &impl Store, c: &Client, now: i64) -> anyhow::Result<bool> {
    let uris = |v: &[RedirectUri]| json_list(&v.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>());
    Ok(execute(
        s,
        "UPDATE oauth_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, grant_types = $4, \
         scopes = $5, first_party = $6, require_mfa = $7, updated_at = $8 WHERE id = $9",
        vec![
            c.name.clone().into(),
            uris(&c.redirect_uris).into(),
            uris(&c.post_logout_redirect_uris).into(),
            json_list(&c.grant_types.iter().map(|g| g.as_str().to_string()).collect::<Vec<_>>()).into(),
            json_list(&c.scopes.iter().map(str::to_string).collect::<Vec<_>>()).into(),
            c.first_party.into(),
            c.require_mfa.into(),
            now.into(),
            c.id.clone().into(),
        ],
    )
    .await
    .context("updating a client")?
        == 1)
}

/// A client and who manages it: `Some("config")` when a configuration file declares it,
/// `None` for clients made by the console or the CLI.
#[derive(Debug, FromQueryResult)]
struct ManagedRow {
    #[sea_orm(nested)]
    client: ClientRow,
    managed_by: Option<String>,
}

/// Every client with its manager (see [`ManagedRow`]), by id.
pub async fn list_with_manager(s: &impl Store) -> anyhow::Result<Vec<(Client, Option<String>)>> {
    let rows: Vec<ManagedRow> =
        query_all(s, &format!("SELECT {COLUMNS}, managed_by FROM oauth_clients ORDER BY id"), vec![])
            .await
            .context("listing clients with their manager")?;
    rows.into_iter().map(|r| Ok((from_row(r.client)?, r.managed_by))).collect()
}

/// Marks who manages a client (`None`: the console and the CLI). False when there is none.
pub async fn set_manager(s: &impl Store, id: &str, managed_by: Option<&str>) -> anyhow::Result<bool> {
    Ok(execute(
        s,
        "UPDATE oauth_clients SET managed_by = $1 WHERE id = $2",
        vec![managed_by.map(str::to_string).into(), id.into()],
    )
    .await
    .context("marking a client's manager")?
        == 1)
}

/// Writes every setting of a client a configuration file declares, its secret hash,
/// audiences and API rights included (only its id and kind stay). False when there is none.
pub async fn replace(s: &impl Store, c: &Client, now: i64) -> anyhow::Result<bool> {
    let list = |v: &[RedirectUri]| json_list(&v.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>());
    Ok(execute(
        s,
        "UPDATE oauth_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, grant_types = $4, \
         scopes = $5, first_party = $6, require_mfa = $7, secret_hash = $8, audiences = $9, api_access = $10, \
         introspect_any = $11, id_token_signed_response_alg = $12, id_token_on_refresh = $13, updated_at = $14 \
         WHERE id = $15 AND is_public = $16",
        vec![
            c.name.clone().into(),
            list(&c.redirect_uris).into(),
            list(&c.post_logout_redirect_uris).into(),
            json_list(&c.grant_types.iter().map(|g| g.as_str().to_string()).collect::<Vec<_>>()).into(),
            json_list(&c.scopes.iter().map(str::to_string).collect::<Vec<_>>()).into(),
            c.first_party.into(),
            c.require_mfa.into(),
            c.secret_hash.clone().into(),
            json_list(&c.audiences).into(),
            c.api_access.into(),
            c.introspect_any.into(),
            c.id_token_alg.map(|a| a.name().to_string()).into(),
            c.id_token_on_refresh.into(),
            now.into(),
            c.id.clone().into(),
            c.public.into(),
        ],
    )
    .await
    .context("replacing a client's settings")?
        == 1)
}
