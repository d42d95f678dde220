//! SQLite backup and restore, and the lock that tells a restore a Portcullis process has the
//! database open.
//!
//! **The lock.** Every process that opens a SQLite database through [`Db::connect`] (a server,
//! `user add`, a backup) holds a *shared* advisory lock (`flock`) on `<database>.lock` for as
//! long as it has the pool; a restore takes it *exclusively* and refuses when it cannot. The
//! kernel drops the lock when the process ends, however it ends, so a crashed server never
//! leaves a stale lock behind (unlike a pid file or a heartbeat row). The lock file sits beside
//! the database and outlives the rename a restore makes, so it always names the same database.
//!
//! **Backup** is `VACUUM INTO` a temporary file beside the target: one read transaction on
//! the live database (a consistent snapshot; writers go on in WAL mode), then
//! `PRAGMA integrity_check` and the migrations table checked on the copy, fsync, and an atomic
//! move into place (a hard link when the file must not exist, so a file that appears meanwhile
//! is never overwritten; a rename with `--force`).
//!
//! **Restore** copies the backup beside the database, checks the copy the same way, keeps the
//! current database as `<name>.before-restore` (a hard link, after a checkpoint so the file is
//! complete without its write-ahead log; a database too broken to checkpoint keeps its log as
//! `<name>.before-restore-wal`), removes the old log and renames the copy over the database.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, FromQueryResult};

use super::{Count, Db, Store, execute, query_all, query_one};

/// A held advisory lock on `<database>.lock` (released when dropped or the process ends).
#[derive(Debug)]
pub(crate) struct DbLock {
    _file: File,
}

/// The database file a `sqlite:` URL names (`None` for in-memory or other databases).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// `<database>.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    with_suffix(database, ".lock")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn open_lock_file(database: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(lock_path(database))
}

/// The shared lock of a process using the database. Waits while a restore holds it
/// exclusively; a directory where no lock file can be made (read-only) gets no lock.
pub(crate) async fn share(database: &Path) -> anyhow::Result<Option<DbLock>> {
    let file = match open_lock_file(database) {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(error = %err, "no lock file beside the database: a restore cannot tell it is in use");
            return Ok(None);
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(DbLock { _file: file })),
        Err(TryLockError::WouldBlock) => {
            tracing::warn!(database = %database.display(), "a restore is replacing the database; waiting for it");
            let file = tokio::task::spawn_blocking(move || file.lock_shared().map(|()| file))
                .await
                .context("waiting for the database lock")?
                .context("waiting for the database lock")?;
            Ok(Some(DbLock { _file: file }))
        }
        Err(TryLockError::Error(err)) => Err(err).context("locking the database file"),
    }
}

/// The exclusive lock of a restore, or `None` while any process holds the shared one.
fn exclusive(database: &Path) -> anyhow::Result<Option<DbLock>> {
    let file = open_lock_file(database).with_context(|| format!("creating {}", lock_path(database).display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DbLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(err)) => Err(err).context("locking the database file"),
    }
}

/// A database file opened for inspection only: no lock, rollback journal (no `-wal` beside
/// a file that is about to be moved), one connection.
async fn open_file(path: &Path) -> anyhow::Result<Db> {
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rw", path.display()));
    options.max_connections(1).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
        o.journal_mode(SqliteJournalMode::Delete).busy_timeout(std::time::Duration::from_secs(10))
    });
    let conn = Database::connect(options).await.with_context(|| format!("opening {}", path.display()))?;
    Ok(Db { conn, write_gate: None, audit_fanout: None, _lock: None, rotations: None })
}

/// What a checked copy holds.
#[derive(Debug)]
pub struct CheckedFile {
    /// Applied migrations, oldest first.
    pub migrations: Vec<String>,
    /// Application tables (without the migrations table).
    pub tables: i64,
}

#[derive(Debug, FromQueryResult)]
struct IntegrityRow {
    integrity_check: String,
}

#[derive(Debug, FromQueryResult)]
struct VersionRow {
    version: String,
}

/// `PRAGMA integrity_check` says ok, the migrations table is there, and it names no
/// migration this binary does not know.
async fn check(db: &Db, what: &str) -> anyhow::Result<CheckedFile> {
    let rows: Vec<IntegrityRow> =
        query_all(db, "PRAGMA integrity_check", vec![]).await.with_context(|| format!("checking {what}"))?;
    let problems: Vec<&str> = rows.iter().map(|r| r.integrity_check.as_str()).filter(|r| *r != "ok").collect();
    if rows.is_empty() || !problems.is_empty() {
        bail!(
            "{what} fails PRAGMA integrity_check: {}",
            problems.iter().take(5).copied().collect::<Vec<_>>().join("; ")
        );
    }
    let has_migrations: Option<Count> = query_one(
        db,
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        vec![],
    )
    .await?;
    if has_migrations.map_or(0, |c| c.n) == 0 {
        bail!("{what} is not a Portcullis database (it has no seaql_migrations table)");
    }
    let migrations = applied_migrations(db).await?;
    migrations_known(&migrations).with_context(|| format!("{what} cannot be used by this binary"))?;
    let tables: Option<Count> = query_one(
        db,
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'seaql_migrations'",
        vec![],
    )
    .await?;
    Ok(CheckedFile { migrations, tables: tables.map_or(0, |c| c.n) })
}

/// The migrations applied to a database, oldest first.
pub(crate) async fn applied_migrations(db: &impl Store) -> anyhow::Result<Vec<String>> {
    let applied: Vec<VersionRow> = query_all(db, "SELECT version FROM seaql_migrations ORDER BY version", vec![])
        .await
        .context("reading the migrations table")?;
    Ok(applied.into_iter().map(|r| r.version).collect())
}

/// Every applied migration is one this binary ships (an older database is fine: it is
/// migrated at start; a newer one is not).
pub(crate) fn migrations_known(applied: &[String]) -> anyhow::Result<()> {
    let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_string()).collect();
    if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
        bail!("it was migrated by a newer Portcullis (migration {unknown} is unknown to this version)");
    }
    Ok(())
}

/// Removes a temporary file unless it was moved into place.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn beside(target: &Path, tag: &str) -> anyhow::Result<Self> {
        let name = target.file_name().with_context(|| format!("{} names no file", target.display()))?;
        let tmp = format!(".{}.{tag}-{}", name.to_string_lossy(), uuid::Uuid::new_v4().simple());
        Ok(Self(Some(target.with_file_name(tmp))))
    }
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    fn kept(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(with_suffix(&path, "-journal"));
        }
    }
}

fn fsync_file_and_dir(path: &Path) -> anyhow::Result<()> {
    File::open(path).and_then(|f| f.sync_all()).with_context(|| format!("syncing {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}

/// Writes a consistent copy of the (running) SQLite database `db` to `to`.
pub async fn backup(db: &Db, to: &Path, force: bool) -> anyhow::Result<CheckedFile> {
    if db.conn.get_database_backend() != sea_orm::DbBackend::Sqlite {
        bail!("backup copies SQLite databases; back up PostgreSQL with pg_dump");
    }
    if to.exists() && !force {
        bail!("{} exists; pass --force to replace it", to.display());
    }
    let tmp = TempFile::beside(to, "backup")?;
    let target = tmp.path().to_str().with_context(|| format!("{} is not UTF-8", to.display()))?;
    execute(db, "VACUUM INTO $1", vec![target.into()]).await.with_context(|| format!("writing {}", to.display()))?;
    let copy = open_file(tmp.path()).await?;
    let checked = check(&copy, "the copy").await;
    copy.conn.close().await.context("closing the copy")?;
    let checked = checked?;
    fsync_file_and_dir(tmp.path())?;
    if force {
        std::fs::rename(tmp.path(), to).with_context(|| format!("moving the copy to {}", to.display()))?;
    } else {
        // A link fails if the name exists: a file that appeared meanwhile is never replaced.
        // (A file system without hard links gets a check and a rename.)
        match std::fs::hard_link(tmp.path(), to) {
            Ok(()) => std::fs::remove_file(tmp.path()).with_context(|| format!("removing {}", tmp.path().display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("{} appeared meanwhile; not replaced", to.display())
            }
            Err(_) if to.exists() => bail!("{} appeared meanwhile; not replaced", to.display()),
            Err(_) => {
                std::fs::rename(tmp.path(), to).with_context(|| format!("moving the copy to {}", to.display()))?
            }
        }
    }
    tmp.kept();
    fsync_file_and_dir(to)?;
    Ok(checked)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub checked: CheckedFile,
    /// Where the replaced database was kept (`None` when there was none).
    pub previous: Option<PathBuf>,
}

/// Replaces the SQLite database at `database` with the backup `from`, unless a Portcullis
/// process has it open.
pub async fn restore(database: &Path, from: &Path, force: bool) -> anyhow::Result<Restored> {
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let wal = with_suffix(from, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        bail!(
            "{} has a write-ahead log beside it ({}): it is a live database, not a backup; make one with `portcullis backup`",
            from.display(),
            wal.display()
        );
    }
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let Some(_lock) = exclusive(database)? else {
        bail!(
            "{} is in use by a running Portcullis (a server or another command holds {}): stop it, then restore",
            database.display(),
            lock_path(database).display()
        );
    };
    let previous = with_suffix(database, ".before-restore");
    if previous.exists() && !force {
        bail!("{} exists (from an earlier restore); move it away or pass --force to replace it", previous.display());
    }

    let tmp = TempFile::beside(database, "restore")?;
    std::fs::copy(from, tmp.path()).with_context(|| format!("copying {}", from.display()))?;
    let copy = open_file(tmp.path()).await?;
    let checked = check(&copy, &from.display().to_string()).await;
    copy.conn.close().await.context("closing the copy")?;
    let checked = checked?;
    fsync_file_and_dir(tmp.path())?;

    let kept = if database.exists() {
        // The database may be what is broken: then its log travels with it, unfolded.
        if let Err(err) = fold_wal(database).await {
            tracing::warn!(error = %format!("{err:#}"), "the current database could not be checkpointed; keeping it with its log");
        }
        for suffix in ["", "-wal"] {
            let (current, kept) = (with_suffix(database, suffix), with_suffix(&previous, suffix));
            if kept.exists() {
                std::fs::remove_file(&kept).with_context(|| format!("removing {}", kept.display()))?;
            }
            if !current.exists() {
                continue;
            }
            if std::fs::hard_link(&current, &kept).is_err() {
                std::fs::copy(&current, &kept).with_context(|| format!("keeping {}", kept.display()))?;
            }
            fsync_file_and_dir(&kept)?;
        }
        // A log left beside the new file would be replayed into it: gone before the rename.
        for suffix in ["-wal", "-shm"] {
            let path = with_suffix(database, suffix);
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
        Some(previous)
    } else {
        None
    };
    std::fs::rename(tmp.path(), database)
        .with_context(|| format!("moving the restored file to {}", database.display()))?;
    tmp.kept();
    fsync_file_and_dir(database)?;
    Ok(Restored { checked, previous: kept })
}

/// Checkpoints the database's write-ahead log into the file and removes the log, so the file
/// alone is the whole database (no process has it open: the caller holds the exclusive lock).
async fn fold_wal(database: &Path) -> anyhow::Result<()> {
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rw", database.display()));
    options.max_connections(1).min_connections(1).sqlx_logging(false);
    let conn = Database::connect(options).await.with_context(|| format!("opening {}", database.display()))?;
    let db = Db { conn, write_gate: None, audit_fanout: None, _lock: None, rotations: None };
    execute(&db, "PRAGMA wal_checkpoint(TRUNCATE)", vec![]).await.context("checkpointing the current database")?;
    db.conn.close().await.context("closing the current database")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_names_its_file_and_memory_names_none() {
        assert_eq!(sqlite_path("sqlite:///data/p.db?mode=rwc"), Some(PathBuf::from("/data/p.db")));
        assert_eq!(sqlite_path("sqlite://rel/p.db"), Some(PathBuf::from("rel/p.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }

    #[test]
    fn a_shared_lock_keeps_the_exclusive_one_out_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let shared = rt.block_on(share(&db)).unwrap();
        assert!(shared.is_some());
        assert!(exclusive(&db).unwrap().is_none(), "a process has the database open");
        drop(shared);
        assert!(exclusive(&db).unwrap().is_some(), "nobody has it open");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_opening_the_database_during_a_restore_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let restoring = exclusive(&db).unwrap().unwrap();
        let opening = tokio::spawn({
            let db = db.clone();
            async move { share(&db).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!opening.is_finished(), "waits while the restore holds the lock");
        drop(restoring);
        let shared = tokio::time::timeout(std::time::Duration::from_secs(5), opening).await.unwrap().unwrap().unwrap();
        assert!(shared.is_some(), "and opens once it is done");
    }
}
