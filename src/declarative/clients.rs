//! The `[[clients]]` tables of a configuration file: parsed (unknown keys refused), checked
//! by the client service's own rules, compared with the stored clients, and written. Every
//! key `portcullis client add` has a flag for is a key here, under its field name.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::secret_ref::SecretRef;
use super::{Change, Mark};
use crate::audit::Actor;
use crate::jws::Alg;
use crate::oauth::client::Client;
use crate::oauth::clients::{ClientAdminError, NewClient};
use crate::oauth::declared::{MANAGED_BY_CONFIG, declared_changes, is_built_in};
use crate::oauth::provider::Provider;
use crate::store::{Store, Tx, clients};

/// The object kind's name in the plan (`+ create client web`).
pub const KIND: &str = "client";

/// One `[[clients]]` table as written. Defaults are `client add`'s.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSpec {
    id: String,
    name: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Empty: authorization_code and refresh_token.
    #[serde(default)]
    grant_types: Vec<String>,
    /// Empty: openid profile email offline_access.
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    require_mfa: bool,
    #[serde(default)]
    api_access: bool,
    #[serde(default)]
    introspect_any: bool,
    /// RS256, ES256 or EdDSA; absent: the server's `tokens.id_token_alg`.
    id_token_signed_response_alg: Option<String>,
    /// A refresh carries a new ID token (OIDC Core §12.2); absent: yes.
    id_token_on_refresh: Option<bool>,
    secret: Option<toml::Value>,
}

/// A declared client, checked: what it must look like once applied (secret hash included).
#[derive(Debug, Clone)]
pub struct Declared {
    pub client: Client,
}

/// The file key a client-service refusal is about (its `field` is the CLI flag's name).
fn key_of(field: &str) -> &str {
    match field {
        "redirect-uri" => "redirect_uris",
        "post-logout-redirect-uri" => "post_logout_redirect_uris",
        "grant" => "grant_types",
        "scope" => "scopes",
        "audience" => "audiences",
        "introspect-any" => "introspect_any",
        "api-access" => "api_access",
        other => other,
    }
}

/// How a client is named in a message: by id, or by position when it has none.
fn label(index: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("client {id:?}"),
        None => format!("[[clients]] #{}", index + 1),
    }
}

/// Parses and checks the `clients` array (`base`: the file's directory, for secret files).
/// The message of an error names the client and the key.
pub fn parse(provider: &Provider, value: &toml::Value, base: &Path) -> Result<Vec<Declared>, String> {
    let toml::Value::Array(tables) = value else {
        return Err("`clients` must be an array of tables: write each client as [[clients]]".into());
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        let id = table.get("id").and_then(toml::Value::as_str);
        let who = label(index, id);
        let spec: ClientSpec =
            table.clone().try_into().map_err(|e: toml::de::Error| format!("{who}: {}", e.message()))?;
        if !seen.insert(spec.id.clone()) {
            return Err(format!("{who}: declared twice"));
        }
        let secret = match (&spec.secret, spec.public) {
            (Some(_), true) => return Err(format!("{who}: secret: a public client has no secret")),
            (None, false) => {
                return Err(format!(
                    "{who}: secret: a confidential client needs secret = {{ env = \"NAME\" }} or \
                     {{ file = \"/path\" }} (or public = true)"
                ));
            }
            (None, true) => None,
            (Some(value), false) => {
                let reference = SecretRef::parse(value).map_err(|m| format!("{who}: secret: {m}"))?;
                Some(reference.resolve(base).map_err(|m| format!("{who}: secret: {m}"))?)
            }
        };
        let id_token_alg = match spec.id_token_signed_response_alg.as_deref() {
            None => None,
            Some(name) => Some(Alg::parse(name).ok_or_else(|| {
                format!("{who}: id_token_signed_response_alg: {name:?} is not one of RS256, ES256, EdDSA")
            })?),
        };
        let new = NewClient {
            name: spec.name.clone().unwrap_or_default(),
            id: spec.id,
            public: spec.public,
            first_party: spec.first_party,
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            grant_types: spec.grant_types,
            scopes: spec.scopes,
            audiences: spec.audiences,
            require_mfa: spec.require_mfa,
            api_access: spec.api_access,
            introspect_any: spec.introspect_any,
            id_token_alg,
            no_refresh_id_token: !spec.id_token_on_refresh.unwrap_or(true),
        };
        let client = provider.declared_client(&new, secret.as_ref()).map_err(|e| match e {
            ClientAdminError::Invalid { field, message } => {
                format!("{who}: {}: {}", key_of(field), message.replace("--api-access", "api_access = true"))
            }
            other => format!("{who}: {other}"),
        })?;
        out.push(Declared { client });
    }
    Ok(out)
}

/// What applying `declared` would do to the stored clients, in file order, then the stored
/// clients the file does not name (by id): drift, or deletions with `prune`. Refuses (the
/// message names the client) a change no update can make.
pub async fn plan(s: &impl Store, declared: &[Declared], prune: bool) -> anyhow::Result<Result<Vec<Change>, String>> {
    let stored = clients::list_with_manager(s).await?;
    let mut by_id: HashMap<&str, (&Client, bool)> = HashMap::new();
    for (client, manager) in stored.iter().filter(|(c, _)| !is_built_in(&c.id)) {
        by_id.insert(client.id.as_str(), (client, manager.as_deref() == Some(MANAGED_BY_CONFIG)));
    }
    let mut changes = Vec::new();
    for d in declared {
        let id = d.client.id.clone();
        let mark = match by_id.remove(id.as_str()) {
            None => Mark::Create,
            Some((old, managed)) => {
                let mut changed = declared_changes(old, &d.client);
                if changed.contains(&"public") {
                    return Ok(Err(format!(
                        "client {id:?}: public: a stored client cannot change between public and confidential \
                         (give it a new id, or remove it, apply with --prune, and add it back)"
                    )));
                }
                if !managed {
                    changed.push("managed");
                }
                if changed.is_empty() { Mark::Unchanged } else { Mark::Update(changed) }
            }
        };
        changes.push(Change { kind: KIND, id, mark });
    }
    let mut rest: Vec<(&str, bool)> = by_id.into_iter().map(|(id, (_, managed))| (id, managed)).collect();
    rest.sort_unstable();
    for (id, managed) in rest {
        let mark = if prune { Mark::Delete { managed } } else { Mark::Drift { managed } };
        changes.push(Change { kind: KIND, id: id.to_string(), mark });
    }
    Ok(Ok(changes))
}

/// Makes the planned client changes on `tx`.
pub async fn execute(
    tx: &Tx,
    provider: &Provider,
    actor: &Actor,
    declared: &[Declared],
    changes: &[Change],
) -> anyhow::Result<()> {
    let by_id: HashMap<&str, &Client> = declared.iter().map(|d| (d.client.id.as_str(), &d.client)).collect();
    for change in changes.iter().filter(|c| c.kind == KIND) {
        let client = by_id.get(change.id.as_str()).copied();
        let done = match (&change.mark, client) {
            (Mark::Create, Some(client)) => provider.create_declared(tx, actor, client).await,
            (Mark::Update(changed), Some(client)) => provider.update_declared(tx, actor, client, changed).await,
            (Mark::Delete { .. }, _) => provider.delete_declared(tx, actor, &change.id).await,
            _ => Ok(()),
        };
        done.map_err(|e| e.into_internal().context(format!("applying client {:?}", change.id)))?;
    }
    Ok(())
}
