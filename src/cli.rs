//! The command line: `serve` (the default), `migrate`, `user add`, `user list`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::Settings;
use crate::identity::accounts::{RegisterError, Registration};
use crate::identity::email::Email;
use crate::identity::password::Password;
use crate::identity::user::{DisplayName, NewUser, Username};
use crate::startup::{Application, Services, shutdown_signal};
use crate::store::{self, Db};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "OAuth 2.0 / OpenID Connect authorization server")]
pub struct Cli {
    /// An extra settings file, layered over the defaults and under the environment.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input, never from arguments.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Give the user administrator rights.
        #[arg(long)]
        admin: bool,
        /// Mark the e-mail address as verified.
        #[arg(long)]
        verified: bool,
    },
    /// List users.
    List,
}

pub async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => {
            if no_migrate {
                settings.database.migrate_on_start = false;
            }
            let app = Application::build(settings, clock).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let url = settings.database_url();
            store::ensure_sqlite_dir(&url)?;
            let db = Db::connect(&url, &settings.database).await?;
            db.migrate().await?;
            println!("migrations applied to {}", store::redact_url(&url));
            Ok(())
        }
        Command::User { command } => {
            let state = Services::build(settings, clock, true).await?;
            match command {
                UserCommand::Add { username, email, display_name, admin, verified } => {
                    let username = Username::parse(&username).map_err(|m| anyhow::anyhow!("--username: {m}"))?;
                    let email = Email::parse(&email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
                    let display_name = DisplayName::parse(display_name.as_deref().unwrap_or_default())
                        .map_err(|m| anyhow::anyhow!("--display-name: {m}"))?;
                    let raw = read_password()?;
                    let password =
                        Password::new_for(&raw, state.accounts.password_policy(), &[username.as_str(), email.as_str()])
                            .map_err(|p| anyhow::anyhow!("password: {p}"))?;
                    let new = NewUser { username, email, display_name, is_admin: admin, email_verified: verified };
                    let user = match state.accounts.register(new, password).await {
                        Ok(Registration::Created(user)) => user,
                        Ok(Registration::EmailInUse) => bail!("an account with that e-mail address exists"),
                        Err(RegisterError::UsernameTaken) => bail!("that username is taken"),
                        Err(RegisterError::Internal(e)) => return Err(e),
                    };
                    println!("created user {} ({})", user.username, user.id);
                    Ok(())
                }
                UserCommand::List => {
                    let users = state.accounts.list().await?;
                    println!(
                        "{:<36}  {:<20}  {:<32}  {:<8}  {:<5}  {:<8}",
                        "ID", "USERNAME", "EMAIL", "VERIFIED", "ADMIN", "DISABLED"
                    );
                    for u in users {
                        println!(
                            "{:<36}  {:<20}  {:<32}  {:<8}  {:<5}  {:<8}",
                            u.id.to_string(),
                            u.username,
                            u.email,
                            yes_no(u.email_verified),
                            yes_no(u.is_admin),
                            yes_no(u.disabled)
                        );
                    }
                    Ok(())
                }
            }
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A terminal gets a hidden prompt and a confirmation; a pipe gives its first line.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let second = rpassword::prompt_password("Password again: ").context("reading the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        return Ok(first);
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the password from standard input")?;
    let line = input.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("no password on standard input (pipe it in, e.g. `printf '%s' \"$PW\" | portcullis user add …`)");
    }
    Ok(line)
}
