//! Building and running the application. `AppState::build` assembles the domain (shared by
//! the CLI and the server); `Application::build` binds the listener first, so tests can ask
//! for port 0 and read the real port before running.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::audit::webhook::{Endpoint, Fanout, worker::Worker as WebhookWorker};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::identity::accounts::Accounts;
use crate::identity::password::PasswordHasher;
use crate::mail::Outbox;
use crate::mail::transport::Transport;
use crate::mail::worker::Worker;
use crate::oauth::keys::KeyRing;
use crate::oauth::provider::Provider;
use crate::secret::{Secret, random_token};
use crate::state::AppState;
use crate::store::sessions::SessionRepo;
use crate::store::{self, Db, Store};

/// How often expired sessions and stale counters are purged.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);
/// Delivered mail stays in the outbox table this long, for support questions (the envelope
/// only: recipient, subject, times; the body is blanked at delivery).
const SENT_MAIL_KEPT_SECS: i64 = 7 * 24 * 3600;
/// Delivered audit webhooks stay in their queue a day (for "did it go out?" questions).
const DELIVERED_WEBHOOKS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// The state is everything but the HTTP listener and the mail worker; it is built here, beside
/// the rest of the start-up work, rather than in `state.rs`, which stays a plain handle.
impl AppState {
    /// Opens (and, when `migrate`, migrates) the database and assembles the state.
    pub async fn build(settings: Settings, clock: SharedClock, migrate: bool) -> anyhow::Result<Self> {
        // The brand first: a bad file or template override stops the start before anything else.
        let branding = Arc::new(
            crate::branding::Branding::load(&settings.branding, override_translations())
                .context("loading the branding")?,
        );
        prepare_data_dir(&settings.data_dir)?;
        let secret_key = if settings.secret_key.is_empty() {
            load_or_generate_secret(&settings.data_dir)?
        } else {
            settings.secret_key.clone()
        };
        let url = settings.database_url();
        store::ensure_sqlite_dir(&url)?;
        let endpoints = Endpoint::from_settings(&settings.audit.webhooks)?;
        let db = Db::connect(&url, &settings.database).await?.with_audit_fanout(Fanout::new(&endpoints));
        if migrate {
            db.migrate().await?;
        }
        let p = &settings.password;
        let hasher =
            PasswordHasher::new(p.argon2_memory_kib, p.argon2_iterations, p.argon2_parallelism, p.hash_concurrency)
                .context("configuring password hashing")?;
        let sessions = SessionRepo::new(
            db.clone(),
            clock.clone(),
            settings.session.idle_timeout_secs,
            settings.session.absolute_timeout_secs,
        );
        let outbox = Outbox::new(settings.public_url(), &secret_key)?.with_branding(branding.clone());
        let accounts = Accounts::new(
            db.clone(),
            hasher,
            outbox.clone(),
            clock.clone(),
            &settings,
            crate::identity::accounts::AccountKeys::derive(&secret_key)?,
        )?;
        accounts.rekey_legacy_recovery_codes().await.context("re-keying legacy recovery codes")?;
        let trusted_proxies = settings.trusted_proxies()?.into();
        let keys = Arc::new(KeyRing::new(
            db.clone(),
            clock.clone(),
            SecretBox::derive(&secret_key, "signing-keys")?,
            settings.tokens.key_cache_secs,
        ));
        keys.ensure_keys().await.context("preparing signing keys")?;
        let provider = Provider::new(
            db.clone(),
            keys,
            clock.clone(),
            settings.tokens.clone(),
            settings.public_url(),
            SecretBox::derive(&secret_key, "refresh-successors")?,
        );
        provider.ensure_api_client().await.context("registering the built-in API client")?;
        let devices = crate::identity::devices::Devices::new(
            db.clone(),
            clock.clone(),
            settings.tokens.access_token_ttl_secs,
            crate::oauth::first_party::API_CLIENT_ID,
        );
        let discovery = axum::body::Bytes::from(crate::http::oauth::discovery_document(settings.public_url()));
        Ok(Self::new(crate::state::Shared {
            settings: Arc::new(settings),
            db,
            accounts,
            outbox,
            provider,
            discovery,
            sessions,
            devices,
            clock,
            csrf_key: crate::crypto::KeyedHash::derive(&secret_key, crate::http::csrf::KEY_PURPOSE)?,
            secret_key,
            trusted_proxies,
            branding,
        }))
    }
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    mail: Worker<Accounts>,
    /// The audit webhook worker, when endpoints are configured.
    webhooks: Option<WebhookWorker>,
}

impl Application {
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let bind = settings.bind_addr()?;
        let listener = std::net::TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
        Self::build_on(settings, clock, listener).await
    }

    /// Builds on a listener bound already (tests bind port 0 first, to know the issuer).
    pub async fn build_on(
        settings: Settings,
        clock: SharedClock,
        listener: std::net::TcpListener,
    ) -> anyhow::Result<Self> {
        listener.set_nonblocking(true).context("configuring the listener")?;
        let listener = TcpListener::from_std(listener).context("adopting the listener")?;
        let migrate = settings.database.migrate_on_start;
        let state = AppState::build(settings, clock, migrate).await?;
        let transport = Transport::from_settings(&state.settings.mail, state.settings.outbox_dir())
            .context("configuring mail delivery")?;
        match &transport {
            Transport::Directory(dir) => {
                tracing::info!(outbox = %dir.display(), "no SMTP server configured: mail is written to the outbox directory")
            }
            Transport::Smtp { .. } => tracing::info!(server = %state.settings.mail.server, "mail goes out over SMTP"),
        }
        let mail = Worker {
            db: state.db.clone(),
            transport,
            clock: state.clock.clone(),
            settings: state.settings.mail.clone(),
            wake: state.outbox.waker(),
            outbox: state.outbox.clone(),
            jobs: state.accounts.clone(),
        };
        let webhooks = match state.db.audit_fanout() {
            Some(fanout) => {
                let endpoints = Endpoint::from_settings(&state.settings.audit.webhooks)?;
                for e in &endpoints {
                    // The origin only: a path or query may carry a token of the receiver's.
                    let origin = e.url.origin().ascii_serialization();
                    tracing::info!(endpoint = %e.id, %origin, "audit events are delivered to a webhook");
                }
                let settings = state.settings.audit.clone();
                let wake = fanout.wake.clone();
                Some(WebhookWorker::new(state.db.clone(), endpoints, state.clock.clone(), settings, wake))
            }
            None => None,
        };
        Ok(Self { listener, state, mail, webhooks })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        if self.state.settings.http.metrics_enabled && crate::telemetry::metrics::handle().is_none() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let mail = tokio::spawn(self.mail.run());
        let (stop_webhooks, stopped) = tokio::sync::watch::channel(false);
        let webhooks = self.webhooks.map(|worker| tokio::spawn(worker.run(stopped)));
        let app = crate::http::router(self.state.clone());
        if let Ok(addr) = self.listener.local_addr() {
            tracing::info!(%addr, issuer = %self.state.settings.issuer, "Portcullis is listening");
        }
        let limits = crate::server::Limits::from_settings(&self.state.settings);
        let served = crate::server::serve(self.listener, app, limits, shutdown).await.context("serving HTTP");
        housekeeping.abort();
        mail.abort();
        // The tallies of refreshes and client-credentials tokens since the last housekeeping.
        if let Err(e) = self.state.provider.flush_issued_counts().await {
            tracing::warn!(error = %format!("{e:#}"), "writing the token counts at shutdown failed");
        }
        if let Some(mut webhooks) = webhooks {
            // A POST in flight may finish (within its timeout); what is claimed goes back.
            let _ = stop_webhooks.send(true);
            let grace = Duration::from_secs(self.state.settings.audit.webhook_timeout_secs + 2);
            if tokio::time::timeout(grace, &mut webhooks).await.is_err() {
                webhooks.abort();
            }
        }
        tracing::info!("Portcullis stopped");
        served
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        tick.tick().await;
        housekeep(&state).await;
    }
}

/// One round of housekeeping (the background task runs it every ten minutes; tests call it
/// after moving the clock).
pub async fn housekeep(state: &AppState) {
    rotate_signing_keys(state).await;
    match state.sessions.purge_expired().await {
        Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "purging sessions failed"),
    }
    let now = state.clock.unix();
    let stale_point = now - crate::identity::throttle::IN_FLIGHT_STALE_SECS;
    let device_lifetime = state.settings.login.device_cookie_days.saturating_mul(86_400);
    let results = [
        ("login counters", store::throttle::purge_stale(&state.db, now, stale_point).await),
        ("known devices", store::throttle::purge_devices(&state.db, now.saturating_sub(device_lifetime)).await),
        ("e-mail tokens", store::tokens::purge_expired(&state.db, now).await),
        ("sent mail", store::outbox::purge_sent(&state.db, now - SENT_MAIL_KEPT_SECS).await),
        (
            "grants and codes",
            store::grants::purge_expired(&state.db, now, state.settings.tokens.access_token_ttl_secs + 60).await,
        ),
        ("device codes", store::device_codes::purge_expired(&state.db, now, 3600).await),
        ("signing keys", store::keys::purge_expired(&state.db, now).await),
        ("outbox files", purge_outbox_files(state, now).await),
        ("second-factor challenges", store::second_factor::purge_expired(&state.db, now).await),
        ("audit events", purge_audit_events(state).await),
        ("token counts", state.provider.flush_issued_counts().await.map(|n| n as u64)),
        (
            "delivered audit webhooks",
            store::audit_deliveries::purge_delivered(&state.db, state.clock.now_ms() - DELIVERED_WEBHOOKS_KEPT_MS)
                .await,
        ),
    ];
    for (what, result) in results {
        if let Err(e) = result {
            tracing::warn!(error = %format!("{e:#}"), step = what, "a housekeeping step failed");
        }
    }
}

/// Audit events past `audit.retention_days` (0 keeps them forever).
async fn purge_audit_events(state: &AppState) -> anyhow::Result<u64> {
    let days = i64::from(state.settings.audit.retention_days);
    if days == 0 {
        return Ok(0);
    }
    store::audit::purge_before(&state.db, state.clock.now_ms() - days * 86_400_000).await
}

/// The housekeeping task's key step: a scheduled rotation when one is due, performed by
/// exactly one of the nodes sharing the database (public so tests can run it at a frozen time).
pub async fn rotate_signing_keys(state: &AppState) {
    let policy = crate::oauth::key_rotation::RotationPolicy::from_settings(&state.settings);
    match state.provider.keys().rotate_if_due(&policy).await {
        Ok(Some(added)) => {
            for (alg, kid) in added {
                tracing::info!(alg = alg.name(), %kid, delay = policy.publish_delay, "scheduled rotation: key published");
            }
        }
        Ok(None) => tracing::debug!("no key rotation due (or another node performed it)"),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "scheduled key rotation failed"),
    }
}

/// `.eml` files in the outbox directory (the transport without SMTP) hold live links in
/// clear: they are removed once older than the longest link lifetime. Age = the application
/// clock's now minus the file's mtime (the moment the message was written).
async fn purge_outbox_files(state: &AppState, now: i64) -> anyhow::Result<u64> {
    let account = &state.settings.account;
    let longest = account.reset_token_lifetime_secs.max(account.verify_token_lifetime_secs).max(0);
    let cutoff_secs = u64::try_from(now.saturating_sub(longest)).unwrap_or_default();
    let cutoff = std::time::UNIX_EPOCH + Duration::from_secs(cutoff_secs);
    crate::mail::transport::purge_directory(&state.settings.outbox_dir(), cutoff).await
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting {}", dir.display()))?;
        }
    }
    Ok(())
}

/// The generated key in `data_dir/secret_key`, created (mode 0600) on first start.
fn load_or_generate_secret(dir: &Path) -> anyhow::Result<Secret> {
    let path = dir.join("secret_key");
    if path.exists() {
        let key = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let key = key.trim();
        anyhow::ensure!(key.len() >= 32, "{} is too short to be a secret key", path.display());
        tracing::warn!(path = %path.display(), "SECRET_KEY is not set; using the generated key. Production must set SECRET_KEY.");
        return Ok(Secret::new(key));
    }
    let key = random_token();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(path = %path.display(), "SECRET_KEY is not set; generated one. Production must set SECRET_KEY.");
    Ok(Secret::new(key))
}

/// The message catalogue, as the template overrides' `t(..)` calls it (language tag, key,
/// named text arguments); an unknown tag is English.
fn override_translations() -> crate::branding::overrides::Translate {
    Arc::new(|lang: &str, key: &str, args: &[(&str, &str)]| {
        let lang = crate::i18n::Lang::from_tag(lang).unwrap_or_default();
        let args: Vec<(&str, &dyn std::fmt::Display)> =
            args.iter().map(|(name, value)| (*name, value as &dyn std::fmt::Display)).collect();
        crate::i18n::translate(lang, key, &args)
    })
}
