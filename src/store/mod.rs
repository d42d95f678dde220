//! Storage: the database connection, migrations, and repository functions that take and
//! return domain types. SQL goes through [`execute`], [`query_one`] and [`query_all`] here;
//! rows are read by column name into `#[derive(FromQueryResult)]` structs. A failure to
//! reach the database surfaces as [`StoreError::Unavailable`], whatever the query.

/// The append-only audit log.
pub mod audit;
/// The audit webhooks' durable delivery queue.
pub mod audit_deliveries;
/// SQLite backup and restore, and the lock that shows a database is in use.
pub mod backup;
/// OAuth clients.
pub mod clients;
/// The lock and record of `portcullis apply` (configuration as code).
pub mod config_state;
/// Consents and live grants read per client; removing a client's access.
pub mod connected_apps;
/// Copying every table from one database to another (SQLite to PostgreSQL), verified.
pub mod copy;
/// Counts for the admin console's dashboard.
pub mod counts;
/// Device authorizations (RFC 8628), from request to redemption.
pub mod device_codes;
/// Grants, codes, refresh tokens, consents.
pub mod grants;
/// Group commit of refresh-token rotations on SQLite's one writer.
pub mod group_commit;
/// Plain-value reads and writes of any table, for tests and operators (not for handlers).
#[doc(hidden)]
pub mod inspect;
/// Signing keys.
pub mod keys;
/// Mail jobs the worker decides on off the request path (reset requests).
pub mod mail_jobs;
/// TOTP state and recovery codes.
pub mod mfa;
/// The durable mail outbox.
pub mod outbox;
/// Passkeys (WebAuthn credentials) and user handles.
pub mod passkeys;
/// The tables and columns of a database, read from its catalogue at run time.
pub mod schema;
/// Second-factor budgets (per account, per sign-in challenge), reserved before each check.
pub mod second_factor;
/// Browser sessions on our `sessions` table (the HTTP edge adapts them to tower-sessions),
/// listed and ended by public id.
pub mod sessions;
/// Per-key login counters and known devices.
pub mod throttle;
/// Single-use e-mail tokens (verification, password reset).
pub mod tokens;
/// Users.
pub mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    FromQueryResult, QueryResult, RuntimeErr, SqlErr, Statement, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::audit::webhook::Fanout;
use crate::config::DatabaseSettings;

/// A cheap-to-clone handle to the connection pool.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite only: one writer at a time, queued fairly in-process. SQLite allows one write
    /// transaction anyway, and its own busy handler makes the losers sleep 1, 2, 5, … 100 ms
    /// and retry, which showed as 200 ms p99s under parallel token refreshes.
    write_gate: Option<Arc<Mutex<()>>>,
    /// The audit webhooks' endpoints: each appended event queues a delivery per matching
    /// endpoint in its own transaction. `None` (no webhooks) writes nothing more.
    audit_fanout: Option<Arc<Fanout>>,
    /// SQLite only: the shared lock on `<database>.lock` that tells a restore the database
    /// is in use (see [`backup`]).
    _lock: Option<Arc<backup::DbLock>>,
    /// SQLite with `database.group_commit`: refresh rotations share transactions and fsyncs.
    rotations: Option<group_commit::Rotations>,
}

impl Db {
    /// Opens the pool. SQLite gets WAL, `synchronous=FULL` (no acknowledged write is lost on
    /// power failure), a busy timeout and a real pool; its file's directory must exist.
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_string());
        options
            .max_connections(settings.max_connections.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let lock = match backup::sqlite_path(url) {
            Some(path) => backup::share(&path).await?.map(Arc::new),
            None => None,
        };
        let conn = Database::connect(options)
            .await
            .with_context(|| format!("connecting to the database ({})", redact_url(url)))?;
        let write_gate = (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let mut db = Self { conn, write_gate, audit_fanout: None, _lock: lock, rotations: None };
        if settings.group_commit && db.write_gate.is_some() {
            // The writer task's own handle has no queue, so the task ends with the last pool handle.
            db.rotations = Some(group_commit::Rotations::start(db.clone()));
        }
        Ok(db)
    }

    /// The rotation queue, when this database batches rotations.
    pub(crate) fn rotations(&self) -> Option<&group_commit::Rotations> {
        self.rotations.as_ref()
    }

    /// This handle, queueing a webhook delivery per endpoint of `fanout` for each appended
    /// event (set once at startup; every clone and transaction carries it).
    pub fn with_audit_fanout(mut self, fanout: Option<Arc<Fanout>>) -> Self {
        self.audit_fanout = fanout;
        self
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None).await.context("applying database migrations")
    }

    /// Readiness: one round trip.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.conn.ping().await.map_err(StoreError::from).context("pinging the database")
    }

    /// The pool's connections: (open, idle), for the metrics page.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self.conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    pub(crate) async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, StoreError> {
        execute(self, sql, values).await
    }

    /// Starts a transaction. On SQLite, let its first statement be a write, so it takes the
    /// write lock at once (a read-then-write upgrade can fail with SQLITE_BUSY).
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let gate = match &self.write_gate {
            Some(gate) => Some(gate.clone().lock_owned().await),
            None => None,
        };
        let conn = self.conn.begin().await.map_err(StoreError::from).context("starting a transaction")?;
        Ok(Tx {
            conn,
            _gate: gate,
            committed_events: std::sync::Mutex::new(Vec::new()),
            audit_fanout: self.audit_fanout.clone(),
        })
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back. On SQLite it holds
/// the write gate until then.
pub struct Tx {
    conn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
    /// Audit events appended in this transaction: logged once it commits, never if it rolls back.
    committed_events: std::sync::Mutex<Vec<crate::audit::Recorded>>,
    audit_fanout: Option<Arc<Fanout>>,
}

impl Tx {
    /// Marks a point to come back to ([`Tx::rollback_to`]): statements after it can fail
    /// alone, and the transaction stays usable (a failed statement otherwise aborts a whole
    /// PostgreSQL transaction). One level: a new mark replaces the last.
    pub async fn savepoint(&self) -> anyhow::Result<()> {
        execute(self, "SAVEPOINT portcullis_step", vec![]).await.context("setting a savepoint")?;
        Ok(())
    }

    /// Keeps what was done since [`Tx::savepoint`].
    pub async fn release_savepoint(&self) -> anyhow::Result<()> {
        execute(self, "RELEASE SAVEPOINT portcullis_step", vec![]).await.context("releasing a savepoint")?;
        Ok(())
    }

    /// Undoes what was done since [`Tx::savepoint`]; the rest of the transaction stays.
    pub async fn rollback_to(&self) -> anyhow::Result<()> {
        execute(self, "ROLLBACK TO SAVEPOINT portcullis_step", vec![]).await.context("rolling back to a savepoint")?;
        execute(self, "RELEASE SAVEPOINT portcullis_step", vec![]).await.context("releasing a savepoint")?;
        Ok(())
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        let events = self.committed_events.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.conn.commit().await.map_err(StoreError::from).context("committing a transaction")?;
        events.iter().for_each(audit::log);
        if let (false, Some(fanout)) = (events.is_empty(), &self.audit_fanout) {
            fanout.wake.notify_one();
        }
        Ok(())
    }
}

/// What repositories run statements on: the pool or an open transaction.
pub trait Store: Sync {
    type Conn: ConnectionTrait + Sync;
    fn connection(&self) -> &Self::Conn;
    /// The gate a single write statement must pass (none inside a transaction: it holds it).
    fn write_gate(&self) -> Option<&Arc<Mutex<()>>> {
        None
    }
    /// An audit event was appended: logged now on the pool, at commit in a transaction.
    fn after_commit(&self, event: crate::audit::Recorded) {
        audit::log(&event);
    }
    /// Where appended events queue webhook deliveries, if anywhere.
    fn audit_fanout(&self) -> Option<&Arc<Fanout>>;
    /// The pool, when this is not a transaction (to open one where statements must be atomic).
    fn pool(&self) -> Option<&Db> {
        None
    }
}

impl Store for Db {
    type Conn = DatabaseConnection;
    fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }
    fn write_gate(&self) -> Option<&Arc<Mutex<()>>> {
        self.write_gate.as_ref()
    }
    fn after_commit(&self, event: crate::audit::Recorded) {
        audit::log(&event);
        if let Some(fanout) = &self.audit_fanout {
            fanout.wake.notify_one();
        }
    }
    fn audit_fanout(&self) -> Option<&Arc<Fanout>> {
        self.audit_fanout.as_ref()
    }
    fn pool(&self) -> Option<&Db> {
        Some(self)
    }
}

/// Waits for the write gate when `sql` writes (SQLite, outside a transaction).
async fn gate_for<'a>(s: &'a impl Store, sql: &str) -> Option<tokio::sync::MutexGuard<'a, ()>> {
    let gate = s.write_gate()?;
    let verb = sql.trim_start().get(..6).unwrap_or_default().to_ascii_uppercase();
    if matches!(verb.as_str(), "INSERT" | "UPDATE" | "DELETE") { Some(gate.lock().await) } else { None }
}

impl Store for Tx {
    type Conn = DatabaseTransaction;
    fn connection(&self) -> &DatabaseTransaction {
        &self.conn
    }
    fn after_commit(&self, event: crate::audit::Recorded) {
        self.committed_events.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(event);
    }
    fn audit_fanout(&self) -> Option<&Arc<Fanout>> {
        self.audit_fanout.as_ref()
    }
}

/// A raw statement with `$1`-style placeholders (SQLite accepts them too).
fn statement(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(s.connection().get_database_backend(), sql, values)
}

pub(crate) async fn execute(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, StoreError> {
    let _gate = gate_for(s, sql).await;
    Ok(s.connection().execute_raw(statement(s, sql, values)).await?.rows_affected())
}

/// The first row `sql` returns, read by column name.
pub(crate) async fn query_one<T: FromQueryResult>(
    s: &impl Store,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Option<T>, StoreError> {
    let _gate = gate_for(s, sql).await;
    let row = s.connection().query_one_raw(statement(s, sql, values)).await?;
    Ok(row.map(|r| T::from_query_result(&r, "")).transpose()?)
}

/// Every row `sql` returns, read by column name.
pub(crate) async fn query_all<T: FromQueryResult>(
    s: &impl Store,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<T>, StoreError> {
    let rows = query_rows(s, sql, values).await?;
    Ok(rows.iter().map(|r| T::from_query_result(r, "")).collect::<Result<_, _>>()?)
}

/// Every row, undecoded (for [`inspect`], which reads whatever columns a query names).
async fn query_rows(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>) -> Result<Vec<QueryResult>, StoreError> {
    let _gate = gate_for(s, sql).await;
    Ok(s.connection().query_all_raw(statement(s, sql, values)).await?)
}

/// A row of one count, for `SELECT COUNT(*) AS n …`.
#[derive(Debug, FromQueryResult)]
pub(crate) struct Count {
    pub n: i64,
}

/// What a statement's failure means to the caller.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached: no connection within the acquire timeout, the pool
    /// closed, a refused, reset or broken connection. Callers answer 503 with `Retry-After`.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// Anything else the database or the decoding of a row reported.
    #[error(transparent)]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    /// Sorts a failure at the connection: a connection that cannot be had or breaks is
    /// `Unavailable`, every other failure (a constraint, bad SQL, a row that does not
    /// decode) is `Db`.
    fn from(err: DbErr) -> Self {
        let unreachable = match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
                **e,
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::Tls(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
                    | sea_orm::sqlx::Error::WorkerCrashed
            ),
            _ => false,
        };
        if unreachable { Self::Unavailable(err) } else { Self::Db(err) }
    }
}

/// Creates the directory that holds a SQLite database file, if the URL names one.
pub fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split('?').next().unwrap_or_default();
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Is this failure the database being unreachable ([`StoreError::Unavailable`] anywhere in
/// its chain)? Such failures answer 503 with `Retry-After`, never 500, and never success.
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| matches!(cause.downcast_ref(), Some(StoreError::Unavailable(_))))
}

/// Which unique constraint a failed insert or update hit, if any.
pub(crate) fn unique_violation(err: &StoreError) -> Option<String> {
    let StoreError::Db(err) = err else { return None };
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => Some(detail),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let settings = DatabaseSettings {
            max_connections: 2,
            acquire_timeout_secs: 1,
            migrate_on_start: false,
            group_commit: true,
        };
        Db::connect(&url, &settings).await.unwrap()
    }

    #[tokio::test]
    async fn a_closed_pool_is_unavailable_and_bad_sql_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir).await;
        let bad = execute(&db, "SELECT * FROM no_such_table", vec![]).await.map_err(anyhow::Error::new);
        assert!(!is_unavailable(&bad.unwrap_err()), "a query the database refuses is a fault, not an outage");

        db.conn.close_by_ref().await.unwrap();
        let closed = execute(&db, "SELECT 1", vec![]).await.map_err(anyhow::Error::new).context("running a query");
        let err = closed.unwrap_err();
        assert!(is_unavailable(&err), "a closed pool is an outage, found through the context: {err:?}");
        assert!(is_unavailable(&db.ping().await.unwrap_err()), "and so is a failed ping");
    }

    #[tokio::test]
    async fn rows_are_read_by_column_name_whatever_their_order() {
        #[derive(Debug, FromQueryResult)]
        struct Pair {
            b: String,
            a: i64,
        }
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir).await;
        let pair: Option<Pair> = query_one(&db, "SELECT 7 AS a, 'x' AS b", vec![]).await.unwrap();
        let pair = pair.unwrap();
        assert_eq!((pair.a, pair.b.as_str()), (7, "x"));
    }
}
