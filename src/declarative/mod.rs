//! Configuration as code: a TOML file declares objects (today `[[clients]]`), and
//! [`apply`] reconciles the database to it in one transaction under the apply lock, returning
//! a terraform-like [`Plan`]. Each kind of object is a module with `parse`, `plan` and
//! `execute` (see [`clients`]); a new kind is a new module and one line in each function here.
//!
//! Objects the file does not name are drift, reported and left alone, unless `prune` deletes
//! them. Every change is written through the kind's own service (the client rules of
//! `oauth::clients`) with its audit event, by the actor `config`.

/// `[[clients]]`: OAuth clients.
pub mod clients;
/// `portcullis export-config`: the stored clients as such a file.
pub mod export;
/// `secret = { env = … }` / `{ file = … }`.
pub mod secret_ref;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::audit::{Actor, Event, EventKind};
use crate::clock::Clock;
use crate::oauth::provider::Provider;
use crate::store::{self, Db};

/// A refused configuration file: which file, and what is wrong (naming the object and key).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct FileError {
    pub file: String,
    pub message: String,
}

/// A configuration file, read and checked (secrets resolved, nothing written yet).
#[derive(Debug)]
pub struct ConfigFile {
    /// The path as given, for messages and the plan.
    pub name: String,
    /// Hex SHA-256 of the file's bytes.
    pub digest: String,
    pub clients: Vec<clients::Declared>,
}

/// The top-level keys a file may have.
const KNOWN_KEYS: &[&str] = &["clients"];

/// Reads, parses and checks `path`. Every refusal names the file, and the object and key.
pub fn load(path: &Path, provider: &Provider) -> Result<ConfigFile, FileError> {
    let name = path.display().to_string();
    let fail = |message: String| FileError { file: name.clone(), message };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    let table: toml::Table =
        toml::from_str(text).map_err(|e| fail(format!("not valid TOML: {}", e.to_string().trim())))?;
    if let Some(unknown) = table.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        return Err(fail(format!("unknown key `{unknown}` (this version knows: {})", KNOWN_KEYS.join(", "))));
    }
    let base: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let clients = match table.get("clients") {
        Some(value) => clients::parse(provider, value, &base).map_err(fail)?,
        None => Vec::new(),
    };
    let digest = hex(&Sha256::digest(&bytes));
    Ok(ConfigFile { name, digest, clients })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What happens to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Create,
    /// The keys that change (`managed`: the console's or CLI's object is taken over by the file).
    Update(Vec<&'static str>),
    Unchanged,
    /// Stored, not in the file, left alone (`managed`: a file applied it before).
    Drift {
        managed: bool,
    },
    /// Stored, not in the file, deleted (`--prune`).
    Delete {
        managed: bool,
    },
}

/// One line of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The object kind (`client`).
    pub kind: &'static str,
    pub id: String,
    pub mark: Mark,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Print the plan and change nothing.
    pub dry_run: bool,
    /// Delete stored objects the file does not name.
    pub prune: bool,
}

/// What an apply did (or, dry, would do).
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: String,
    pub changes: Vec<Change>,
    pub dry_run: bool,
}

impl Plan {
    /// How many changes have this mark's kind (`Create`, `Update`, …).
    pub fn count(&self, matches: fn(&Mark) -> bool) -> usize {
        self.changes.iter().filter(|c| matches(&c.mark)).count()
    }

    /// Whether anything was (or would be) written.
    pub fn changes_anything(&self) -> bool {
        self.changes.iter().any(|c| matches!(c.mark, Mark::Create | Mark::Update(_) | Mark::Delete { .. }))
    }

    /// The plan as printed: one line per object, then the summary.
    pub fn render(&self) -> String {
        let origin =
            |managed: bool| if managed { "applied from a configuration file before" } else { "created by console/CLI" };
        let mut out = String::new();
        for c in &self.changes {
            let (kind, id, file) = (c.kind, &c.id, &self.file);
            let line = match &c.mark {
                Mark::Create => format!("+ create {kind} {id}"),
                Mark::Update(keys) => format!("~ update {kind} {id} ({})", keys.join(", ")),
                Mark::Unchanged => format!("= unchanged {kind} {id}"),
                Mark::Drift { managed } => {
                    format!("! drift {kind} {id} (not in {file}; {}; --prune deletes)", origin(*managed))
                }
                Mark::Delete { managed } => format!("- delete {kind} {id} (not in {file}; {})", origin(*managed)),
            };
            out.push_str(&line);
            out.push('\n');
        }
        let create = self.count(|m| matches!(m, Mark::Create));
        let update = self.count(|m| matches!(m, Mark::Update(_)));
        let delete = self.count(|m| matches!(m, Mark::Delete { .. }));
        let unchanged = self.count(|m| matches!(m, Mark::Unchanged));
        let drift = self.count(|m| matches!(m, Mark::Drift { .. }));
        let _ = if self.dry_run {
            writeln!(
                out,
                "Plan: {create} to create, {update} to update, {delete} to delete, {unchanged} unchanged, \
                 {drift} drifted (dry run: nothing changed)"
            )
        } else {
            writeln!(
                out,
                "Applied: {create} created, {update} updated, {delete} deleted, {unchanged} unchanged, {drift} drifted"
            )
        };
        out
    }
}

/// Reconciles the database to `file`. A dry run reads and plans only. Otherwise one
/// transaction takes the apply lock first (another node applying at once waits, then plans
/// against what the first one committed), makes every change with its audit event, records
/// `config.applied` when anything changed, and commits; any failure rolls all of it back.
/// `Ok(Err(_))`: the file asks for something no apply can do (its message names the object).
pub async fn apply(
    db: &Db,
    provider: &Provider,
    clock: &dyn Clock,
    file: &ConfigFile,
    options: Options,
) -> anyhow::Result<Result<Plan, FileError>> {
    let refused = |message: String| FileError { file: file.name.clone(), message };
    if options.dry_run {
        let changes = match clients::plan(db, &file.clients, options.prune).await? {
            Ok(changes) => changes,
            Err(message) => return Ok(Err(refused(message))),
        };
        return Ok(Ok(Plan { file: file.name.clone(), changes, dry_run: true }));
    }
    let tx = db.begin().await?;
    store::config_state::lock_for_apply(&tx, clock.now_ms(), &file.name, &file.digest).await?;
    let changes = match clients::plan(&tx, &file.clients, options.prune).await? {
        Ok(changes) => changes,
        Err(message) => return Ok(Err(refused(message))),
    };
    let actor = Actor::Config;
    clients::execute(&tx, provider, &actor, &file.clients, &changes).await?;
    let plan = Plan { file: file.name.clone(), changes, dry_run: false };
    if plan.changes_anything() {
        let event = Event::new(EventKind::ConfigApplied)
            .actor(actor)
            .detail("source", file.name.clone())
            .detail("sha256", file.digest.clone())
            .detail("created", plan.count(|m| matches!(m, Mark::Create)))
            .detail("updated", plan.count(|m| matches!(m, Mark::Update(_))))
            .detail("deleted", plan.count(|m| matches!(m, Mark::Delete { .. })));
        store::audit::append(&tx, clock.now_ms(), &event).await?;
    }
    tx.commit().await?;
    for change in &plan.changes {
        if change.kind == clients::KIND && change.mark != Mark::Unchanged {
            provider.forget_client(&change.id);
        }
    }
    Ok(Ok(plan))
}
