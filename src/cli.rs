//! The command line: `serve` (the default), `migrate`, `user …`, `client …`, `apply`,
//! `export-config`, `keys …`, `events tail`.

/// `events tail [--follow]`: the audit log on the terminal.
mod events;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::audit::Actor;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::declarative;
use crate::identity::accounts::{RegisterError, Registration};
use crate::identity::email::Email;
use crate::identity::password::Password;
use crate::identity::surface::Surface;
use crate::identity::user::{DisplayName, NewUser, Username};
use crate::oauth::key_rotation::RotationPolicy;
use crate::startup::{Application, shutdown_signal};
use crate::state::AppState;
use crate::store::{self, Db};

/// `apply`, `serve --apply` and `export-config`: configuration as code.
mod config;
/// `user import FILE`: accounts with their existing password hashes.
mod import;
/// `backup`, `restore` and `copy-db`.
mod ops;

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
        /// Apply this configuration file before serving (as `portcullis apply FILE`; several
        /// nodes starting at once apply it once). An invalid file stops the start.
        #[arg(long, value_name = "FILE")]
        apply: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage OAuth clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Reconcile the clients in the database to a configuration file, printing the plan.
    Apply(config::ApplyArgs),
    /// Write the current clients as a configuration file (secrets as env placeholders).
    ExportConfig(config::ExportArgs),
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Read the audit log.
    Events {
        #[command(subcommand)]
        command: events::EventsCommand,
    },
    /// Write a consistent copy of the running SQLite database to a new file.
    Backup(ops::BackupArgs),
    /// Replace the SQLite database with a backup (refused while Portcullis has it open).
    Restore(ops::RestoreArgs),
    /// Copy every table into an empty database (e.g. SQLite to PostgreSQL) and verify it.
    CopyDb(ops::CopyDbArgs),
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once.
    Add {
        #[arg(long)]
        id: String,
        /// A public client (native or browser app): no secret, PKCE only.
        #[arg(long)]
        public: bool,
        /// Where codes may be sent (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return (repeat for several).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Grant types, comma-separated: authorization_code,refresh_token,client_credentials,device_code
        /// (default: authorization_code,refresh_token).
        #[arg(long = "grant", value_delimiter = ',')]
        grants: Vec<String>,
        /// Scopes the client may ask for, space- or comma-separated (default: openid profile email offline_access).
        #[arg(long = "scope", value_delimiter = ',')]
        scopes: Vec<String>,
        /// Extra `aud` values for its access tokens (APIs it calls).
        #[arg(long = "audience", value_delimiter = ',')]
        audiences: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        /// A client of your own: users are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// Users must sign in with a second factor (TOTP) to use this client.
        #[arg(long)]
        require_mfa: bool,
        /// Allow this client Portcullis's own account and admin APIs (/profile, /users): its
        /// access tokens carry the API audience, and it may have the `admin` scope.
        #[arg(long)]
        api_access: bool,
        /// A resource server: may introspect the access tokens of every client.
        #[arg(long)]
        introspect_any: bool,
        /// The algorithm of its ID tokens (`id_token_signed_response_alg`): RS256, ES256 or
        /// EdDSA; without it, the server's `tokens.id_token_alg` (RS256 unless configured).
        #[arg(long, value_parser = parse_alg)]
        id_token_alg: Option<crate::jws::Alg>,
        /// Refresh responses carry no new ID token (OIDC Core §12.2 allows omitting it; the
        /// client keeps the one from sign-in). By default every refresh carries one.
        #[arg(long)]
        no_refresh_id_token: bool,
    },
    /// List clients.
    List,
    /// Remove a client (its grants and tokens go with it).
    Remove {
        #[arg(long)]
        id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add new signing keys: published now, used after the rotation delay; the old keys stay
    /// in the JWKS until every token they signed has expired.
    Rotate {
        /// Seconds before the new keys sign (default: tokens.key_rotation_delay_secs).
        #[arg(long)]
        delay: Option<i64>,
    },
    /// List every signing key with its state (published, active, retired, removed), when it
    /// was created, activates, retires and leaves the JWKS, and the next scheduled rotation.
    List,
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
    /// Import users with their existing password hashes (JSON lines or CSV).
    Import(import::ImportArgs),
}

pub async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    match cli.command.unwrap_or(Command::Serve { no_migrate: false, apply: None }) {
        Command::Serve { no_migrate, apply } => {
            if no_migrate {
                settings.database.migrate_on_start = false;
            }
            let app = Application::build(settings, clock).await?;
            if let Some(file) = apply {
                let plan = config::apply(app.state(), &file, declarative::Options::default()).await?;
                print!("{}", plan.render());
            }
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Apply(args) => {
            let state = AppState::build(settings, clock, true).await?;
            config::run_apply(&state, args).await
        }
        Command::ExportConfig(args) => {
            let state = AppState::build(settings, clock, true).await?;
            config::run_export(&state, args).await
        }
        Command::Migrate => {
            let url = settings.database_url();
            store::ensure_sqlite_dir(&url)?;
            let db = Db::connect(&url, &settings.database).await?;
            db.migrate().await?;
            println!("migrations applied to {}", store::redact_url(&url));
            Ok(())
        }
        Command::Events { command } => events::run(settings, command).await,
        Command::Backup(args) => ops::backup(&settings, args).await,
        Command::Restore(args) => ops::restore(&settings, args).await,
        Command::CopyDb(args) => ops::copy_db(&settings, args).await,
        Command::Client { command } => {
            let state = AppState::build(settings, clock, true).await?;
            run_client(&state, command).await
        }
        Command::Keys { command } => {
            let state = AppState::build(settings, clock, true).await?;
            match command {
                KeysCommand::Rotate { delay } => {
                    let policy = RotationPolicy::from_settings(&state.settings);
                    let delay = delay.unwrap_or(policy.publish_delay).max(0);
                    for (alg, kid) in state.provider.keys().rotate(delay, policy.keep_retired, Actor::Cli).await? {
                        println!("{} key {kid} published; signs in {delay} s", alg.name());
                    }
                    Ok(())
                }
                KeysCommand::List => list_keys(&state).await,
            }
        }
        Command::User { command } => {
            let state = AppState::build(settings, clock, true).await?;
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
                    let user = match state.accounts.register(new, password, Surface::Cli).await {
                        Ok(Registration::Created(user)) => user,
                        Ok(Registration::EmailInUse) => bail!("an account with that e-mail address exists"),
                        Err(RegisterError::UsernameTaken) => bail!("that username is taken"),
                        Err(RegisterError::TooMany { .. }) => bail!("registrations are rate-limited"),
                        Err(RegisterError::Internal(e)) => return Err(e),
                    };
                    println!("created user {} ({})", user.username, user.id);
                    Ok(())
                }
                UserCommand::Import(args) => import::run(&state, args).await,
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

async fn list_keys(state: &AppState) -> anyhow::Result<()> {
    let keys = state.provider.keys();
    let policy = RotationPolicy::from_settings(&state.settings);
    let row = |cells: [&str; 7]| {
        println!(
            "{:<22}  {:<6}  {:<9}  {:<20}  {:<20}  {:<20}  {:<20}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]
        )
    };
    row(["KID", "ALG", "STATE", "CREATED", "ACTIVATES AT", "RETIRES AT", "REMOVED AT"]);
    for k in keys.statuses().await? {
        let (retires, removed) = (k.retires_at.map_or("-".into(), utc), k.removed_at.map_or("-".into(), utc));
        row([&k.kid, &k.alg, k.state.name(), &utc(k.created_at), &utc(k.activates_at), &retires, &removed]);
    }
    match keys.next_rotation(&policy).await? {
        Some(at) => println!("next scheduled rotation: {}", utc(at)),
        None => println!("next scheduled rotation: none (keys.rotate_every = 0; rotate by hand)"),
    }
    Ok(())
}

/// A Unix time as RFC 3339 UTC, to the second.
fn utc(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix.to_string(),
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

/// `--id-token-alg`: the JWS names exactly.
fn parse_alg(name: &str) -> Result<crate::jws::Alg, String> {
    crate::jws::Alg::parse(name).ok_or_else(|| format!("{name:?} is not one of RS256, ES256, EdDSA"))
}

async fn run_client(state: &AppState, command: ClientCommand) -> anyhow::Result<()> {
    use crate::audit::Actor;
    use crate::oauth::clients::{ClientAdminError, NewClient};
    let fail = ClientAdminError::into_internal;
    let split = |v: Vec<String>| -> Vec<String> {
        v.iter().flat_map(|s| s.split_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    match command {
        ClientCommand::Add {
            id,
            public,
            redirect_uris,
            post_logout_redirect_uris,
            grants,
            scopes,
            audiences,
            name,
            first_party,
            require_mfa,
            api_access,
            introspect_any,
            id_token_alg,
            no_refresh_id_token,
        } => {
            let new = NewClient {
                name: name.unwrap_or_else(|| id.clone()),
                id,
                public,
                first_party,
                redirect_uris,
                post_logout_redirect_uris,
                grant_types: split(grants),
                scopes: split(scopes),
                audiences: split(audiences),
                require_mfa,
                api_access,
                introspect_any,
                id_token_alg,
                no_refresh_id_token,
            };
            let (client, secret) = state.provider.create_client(&Actor::Cli, new).await.map_err(fail)?;
            println!("client_id: {}", client.id);
            if let Some(secret) = secret {
                println!("client_secret: {}", secret.expose());
                println!("(the secret is shown once; store it now)");
            }
            Ok(())
        }
        ClientCommand::List => {
            for c in state.provider.clients().await? {
                let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                let uris: Vec<&str> = c.redirect_uris.iter().map(|r| r.as_str()).collect();
                println!(
                    "{}  {}  grants={}  scopes={}  redirect_uris={}{}{}{}{}",
                    c.id,
                    if c.public { "public" } else { "confidential" },
                    grants.join(","),
                    c.scopes,
                    uris.join(","),
                    if c.api_access { "  api-access" } else { "" },
                    if c.introspect_any { "  introspect-any" } else { "" },
                    c.id_token_alg.map(|a| format!("  id-token-alg={}", a.name())).unwrap_or_default(),
                    if c.id_token_on_refresh { "" } else { "  no-refresh-id-token" }
                );
            }
            Ok(())
        }
        ClientCommand::Remove { id } => {
            state.provider.delete_client(&Actor::Cli, &id).await.map_err(fail)?;
            println!("removed client {id}");
            Ok(())
        }
        ClientCommand::RotateSecret { id } => {
            let secret = state.provider.rotate_client_secret(&Actor::Cli, &id).await.map_err(fail)?;
            println!("client_secret: {}", secret.expose());
            Ok(())
        }
    }
}
