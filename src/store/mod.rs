//! Storage: the database connection, migrations, and repository functions that take and
//! return domain types. SeaORM entities stay private to this module.

/// OAuth clients.
pub mod clients;
mod entity;
/// Grants, codes, refresh tokens, consents.
pub mod grants;
/// Signing keys.
pub mod keys;
/// TOTP state and recovery codes.
pub mod mfa;
/// The durable mail outbox.
pub mod outbox;
/// The tower-sessions store on our `sessions` table.
pub mod sessions;
/// Per-key login counters and known devices.
pub mod throttle;
/// Single-use e-mail tokens (verification, password reset).
pub mod tokens;
/// Users.
pub mod users;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult, SqlErr,
    Statement, TransactionTrait,
};

use crate::config::DatabaseSettings;

/// A cheap-to-clone handle to the connection pool.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
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
        let conn = Database::connect(options)
            .await
            .with_context(|| format!("connecting to the database ({})", redact_url(url)))?;
        Ok(Self { conn })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None).await.context("applying database migrations")
    }

    /// Readiness: one round trip.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.conn.ping().await.context("pinging the database")
    }

    /// The raw connection, for repositories and for tests that inspect tables.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub(crate) async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, DbErr> {
        execute(self, sql, values).await
    }

    /// Starts a transaction. On SQLite, let its first statement be a write, so it takes the
    /// write lock at once (a read-then-write upgrade can fail with SQLITE_BUSY).
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(Tx(self.conn.begin().await.context("starting a transaction")?))
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub struct Tx(DatabaseTransaction);

impl Tx {
    pub async fn commit(self) -> anyhow::Result<()> {
        self.0.commit().await.context("committing a transaction")
    }
}

/// What repositories run statements on: the pool or an open transaction.
pub trait Store: Sync {
    type Conn: ConnectionTrait + Sync;
    fn connection(&self) -> &Self::Conn;
}

impl Store for Db {
    type Conn = DatabaseConnection;
    fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }
}

impl Store for Tx {
    type Conn = DatabaseTransaction;
    fn connection(&self) -> &DatabaseTransaction {
        &self.0
    }
}

/// A raw statement with `$1`-style placeholders (SQLite accepts them too).
fn statement(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(s.connection().get_database_backend(), sql, values)
}

pub(crate) async fn execute(s: &impl Store, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, DbErr> {
    Ok(s.connection().execute_raw(statement(s, sql, values)).await?.rows_affected())
}

pub(crate) async fn query_one(
    s: &impl Store,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Option<QueryResult>, DbErr> {
    s.connection().query_one_raw(statement(s, sql, values)).await
}

pub(crate) async fn query_all(
    s: &impl Store,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    s.connection().query_all_raw(statement(s, sql, values)).await
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

/// Is this failure the database being unreachable (pool timeout, refused or broken
/// connection)? Such failures answer 503 with `Retry-After`, never 500, and never success.
pub fn is_outage(err: &anyhow::Error) -> bool {
    const MARKERS: [&str; 11] = [
        "pooltimedout",
        "connectionacquire",
        "poolclosed",
        "pool timed out",
        "connection refused",
        "connection reset",
        "broken pipe",
        "error communicating with database",
        "unexpected end of file",
        "connection closed",
        "failed to acquire connection",
    ];
    let acquire = err.chain().any(|cause| {
        cause.downcast_ref::<DbErr>().is_some_and(|db| matches!(db, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)))
    });
    // The debug form spans every cause, variant names included (sqlx errors hide inside
    // sea-orm's runtime errors).
    let text = format!("{err:?}").to_lowercase();
    acquire || MARKERS.iter().any(|m| text.contains(m))
}

/// Which unique constraint a failed insert or update hit, if any.
pub(crate) fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => Some(detail),
        _ => None,
    }
}
