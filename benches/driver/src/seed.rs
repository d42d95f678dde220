//! Inserts many users into a Portcullis database, fast: one argon2id hash computed once and
//! shared by every seeded row (bench data only: never do this to real accounts), multi-row
//! INSERTs in large transactions, `ON CONFLICT DO NOTHING` so a rerun tops up.

use std::io::Write;
use std::time::Instant;

use argon2::PasswordHasher;
use portcullis::config::DatabaseSettings;
use portcullis::identity::email::Email;
use portcullis::identity::user::{DisplayName, NewUser, Username};
use portcullis::store::{Db, users};

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    /// sqlite://path?mode=rwc or postgres://…
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Users to have in the database when done (bench-1 … bench-N).
    #[arg(long)]
    count: u64,
    /// Their shared password.
    #[arg(long, default_value = "correct horse battery staple bench")]
    password: String,
    #[command(flatten)]
    argon2: crate::limits::Argon2Args,
}

const ROWS_PER_STATEMENT: u64 = 500;
const ROWS_PER_TRANSACTION: u64 = 20_000;

/// Seeded user `i`: bench-i, bench-i@example.test, "Bench User i", address verified.
fn bench_user(i: u64) -> anyhow::Result<NewUser> {
    Ok(NewUser {
        username: Username::parse(&format!("bench-{i}")).map_err(anyhow::Error::msg)?,
        email: Email::parse(&format!("bench-{i}@example.test")).map_err(anyhow::Error::msg)?,
        display_name: DisplayName::parse(&format!("Bench User {i}")).map_err(anyhow::Error::msg)?,
        email_verified: true,
        is_admin: false,
    })
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let settings =
        DatabaseSettings { max_connections: 2, acquire_timeout_secs: 30, migrate_on_start: true, group_commit: false };
    if let Some(path) = args.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let db = Db::connect(&args.database_url, &settings).await?;
    db.migrate().await?;
    let hash = args.argon2.argon2()?.hash_password(args.password.as_bytes()).map_err(anyhow::Error::new)?.to_string();

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let started = Instant::now();
    let mut next = 1u64;
    while next <= args.count {
        let tx = db.begin().await?;
        let tx_end = (next + ROWS_PER_TRANSACTION - 1).min(args.count);
        while next <= tx_end {
            let end = (next + ROWS_PER_STATEMENT - 1).min(tx_end);
            let batch = (next..=end).map(bench_user).collect::<anyhow::Result<Vec<_>>>()?;
            users::insert_many(&tx, &batch, &hash, now).await?;
            next = end + 1;
        }
        tx.commit().await?;
        let done = next - 1;
        let rate = done as f64 / started.elapsed().as_secs_f64();
        eprint!("\rseeded {done}/{} users ({rate:.0}/s)   ", args.count);
        std::io::stderr().flush().ok();
    }
    eprintln!("\rseeded {} users in {:.1} s", args.count, started.elapsed().as_secs_f64());
    Ok(())
}
