//! Operator commands for the database itself: `backup` (a consistent copy of the running
//! SQLite database), `restore` (a backup put back, refused while the database is in use) and
//! `copy-db` (every table into an empty database, e.g. SQLite to PostgreSQL, verified).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::config::Settings;
use crate::store::backup::{self, sqlite_path};
use crate::store::copy::{self, CopyOptions};
use crate::store::{self, Db};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes (a new file; written beside it first and moved into place).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file made by `portcullis backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an earlier `<database>.before-restore`.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CopyDbArgs {
    /// The database to copy from (e.g. sqlite:///var/lib/portcullis/portcullis.db).
    #[arg(long, value_name = "URL", env = "PORTCULLIS_COPY_FROM", hide_env_values = true)]
    pub from: String,
    /// The empty database to copy into (e.g. postgres://portcullis@db/portcullis); migrated first.
    #[arg(long, value_name = "URL", env = "PORTCULLIS_COPY_TO", hide_env_values = true)]
    pub to: String,
    /// Leave browser sessions behind (everyone signs in again).
    #[arg(long)]
    pub skip_sessions: bool,
    /// Rows per batch.
    #[arg(long, default_value_t = 500, value_name = "ROWS")]
    pub batch_size: usize,
}

const PG_DUMP_HINT: &str = "back up PostgreSQL with pg_dump, e.g. \
     `pg_dump --format=custom --file=portcullis.dump \"$DATABASE_URL\"`, and restore with \
     `pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" portcullis.dump` \
     (keep the same SECRET_KEY: keys, TOTP secrets and queued mail are sealed under it)";

pub async fn backup(settings: &Settings, args: BackupArgs) -> anyhow::Result<()> {
    let url = settings.database_url();
    if sqlite_path(&url).is_none() {
        bail!("`backup` copies a SQLite database file, and DATABASE_URL is not one; {PG_DUMP_HINT}");
    }
    let db = Db::connect(&url, &settings.database).await?;
    let checked = backup::backup(&db, &args.to, args.force).await?;
    println!(
        "backup written to {} ({} tables, integrity ok, schema {})",
        args.to.display(),
        checked.tables,
        checked.migrations.last().map_or("empty", String::as_str)
    );
    Ok(())
}

pub async fn restore(settings: &Settings, args: RestoreArgs) -> anyhow::Result<()> {
    let url = settings.database_url();
    let Some(database) = sqlite_path(&url) else {
        bail!("`restore` replaces a SQLite database file, and DATABASE_URL is not one; {PG_DUMP_HINT}");
    };
    let restored = backup::restore(&database, &args.from, args.force).await?;
    println!("restored {} to {}", args.from.display(), database.display());
    if let Some(previous) = restored.previous {
        println!("the previous database is kept as {}", previous.display());
    }
    Ok(())
}

pub async fn copy_db(settings: &Settings, args: CopyDbArgs) -> anyhow::Result<()> {
    if args.from == args.to {
        bail!("--from and --to name the same database");
    }
    let (from_name, to_name) = (store::redact_url(&args.from), store::redact_url(&args.to));
    if sqlite_path(&args.from).is_some_and(|p| !p.is_file()) {
        bail!("{from_name}: no such database file");
    }
    // A SQLite target file is created when missing.
    let to_url = match sqlite_path(&args.to) {
        Some(_) if !args.to.contains("mode=") => {
            format!("{}{}mode=rwc", args.to, if args.to.contains('?') { "&" } else { "?" })
        }
        _ => args.to.clone(),
    };
    store::ensure_sqlite_dir(&to_url)?;
    let from = Db::connect(&args.from, &settings.database).await?;
    let to = Db::connect(&to_url, &settings.database).await?;
    eprintln!("copy-db: {from_name} -> {to_name}");
    let options = CopyOptions { skip_sessions: args.skip_sessions, batch: args.batch_size };
    let report = copy::copy(&from, &to, &options, &mut |line| eprintln!("copy-db: {line}")).await?;

    println!("{:<24}  {:>10}  {:<16}  {:>10}  {:<16}  RESULT", "TABLE", "ROWS", "SHA-256", "COPIED", "SHA-256");
    let short = |t: &Option<copy::Tally>| {
        t.as_ref().map_or(("-".to_string(), "-".to_string()), |t| (t.rows.to_string(), t.sha256[..16].to_string()))
    };
    for t in &report.tables {
        let ((rows, sum), (copied, copied_sum)) = (short(&t.source), short(&t.target));
        let result = match (&t.source, t.matches()) {
            (None, _) => "skipped",
            (Some(_), true) => "ok",
            (Some(_), false) => "MISMATCH",
        };
        println!("{:<24}  {rows:>10}  {sum:<16}  {copied:>10}  {copied_sum:<16}  {result}", t.name);
    }
    if !report.committed {
        bail!("the copy does not match the source; nothing was committed to {to_name}");
    }
    let rows: u64 = report.tables.iter().filter_map(|t| t.target.as_ref()).map(|t| t.rows).sum();
    println!("copied {rows} rows in {} tables to {to_name}; every count and checksum matches", report.tables.len());
    Ok(())
}
