//! Storage: the database connection, migrations, and repository functions that take and
//! return domain types. SeaORM entities stay private to this module.

mod entity;
/// The tower-sessions store on our `sessions` table.
pub mod sessions;
/// Per-key login counters and known devices.
pub mod throttle;
/// Users.
pub mod users;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, SqlErr, Statement};

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

    pub(crate) fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// A raw statement with `$1`-style placeholders (SQLite accepts them too).
    pub(crate) fn statement(&self, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    pub(crate) async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, DbErr> {
        Ok(self.conn.execute_raw(self.statement(sql, values)).await?.rows_affected())
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

/// Which unique constraint a failed insert or update hit, if any.
pub(crate) fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => Some(detail),
        _ => None,
    }
}
