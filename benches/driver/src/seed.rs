//! Inserts many users into a Portcullis database, fast: one argon2id hash computed once and
//! shared by every seeded row (bench data only: never do this to real accounts), multi-row
//! INSERTs in large transactions, `ON CONFLICT DO NOTHING` so a rerun tops up.

use std::io::Write;
use std::time::Instant;

use argon2::PasswordHasher;
use portcullis::config::DatabaseSettings;
use portcullis::store::Db;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait, Value};

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

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let settings = DatabaseSettings { max_connections: 2, acquire_timeout_secs: 30, migrate_on_start: true };
    if let Some(path) = args.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let db = Db::connect(&args.database_url, &settings).await?;
    db.migrate().await?;
    let hash = args.argon2.argon2()?.hash_password(args.password.as_bytes()).map_err(anyhow::Error::new)?.to_string();

    let conn = db.conn();
    let backend = conn.get_database_backend();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let started = Instant::now();
    let mut next = 1u64;
    while next <= args.count {
        let tx = conn.begin().await?;
        let tx_end = (next + ROWS_PER_TRANSACTION - 1).min(args.count);
        while next <= tx_end {
            let end = (next + ROWS_PER_STATEMENT - 1).min(tx_end);
            let mut sql = String::from(
                "INSERT INTO users (id, username, email, email_normalized, email_verified, password_hash, display_name, is_admin, disabled, created_at, updated_at) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity(((end - next + 1) * 11) as usize);
            for i in next..=end {
                let base = values.len();
                if i > next {
                    sql.push(',');
                }
                sql.push('(');
                for k in 1..=11 {
                    if k > 1 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", base + k));
                }
                sql.push(')');
                let email = format!("bench-{i}@example.test");
                values.extend([
                    uuid::Uuid::now_v7().to_string().into(),
                    format!("bench-{i}").into(),
                    email.clone().into(),
                    email.into(),
                    true.into(),
                    hash.clone().into(),
                    format!("Bench User {i}").into(),
                    false.into(),
                    false.into(),
                    now.into(),
                    now.into(),
                ]);
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            tx.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
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
