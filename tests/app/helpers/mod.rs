//! Test harness: spawns the real application and drives it like a browser would.

/// A software passkey authenticator (ES256 over the spec's structures).
pub mod authenticator;
mod browser;
pub mod oidc;
pub mod proxy;
mod smtp;
pub mod sql;
pub mod totp;

use std::sync::Arc;

pub use browser::{Browser, between, csrf_in, location};
use portcullis::clock::ManualClock;
use portcullis::config::Settings;
use portcullis::secret::Secret;
use portcullis::startup::Application;
use portcullis::state::AppState;
use portcullis::store::inspect;
use sea_orm::ConnectionTrait;
pub use smtp::SmtpSink;
use time::OffsetDateTime;

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a scenario once; runs it as `<name>::sqlite` and `<name>::postgres`.
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($backend: $crate::helpers::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                scenario($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "PostgreSQL: set PORTCULLIS_TEST_POSTGRES_URL and pass --ignored"]
            async fn postgres() {
                scenario($crate::helpers::Backend::Postgres).await
            }
        }
    };
}
pub(crate) use db_test;

pub const PASSWORD: &str = "correct horse battery staple";
/// The `SECRET_KEY` of every test app (a CLI run against its database needs the same).
pub const SECRET_KEY: &str = "test-secret-key-test-secret-key-0123456789";

pub struct TestApp {
    /// Where the app listens; also its issuer (`http://127.0.0.1:PORT`).
    pub base: String,
    pub issuer: String,
    /// The SMTP server this app delivers to, when started with one.
    pub smtp: Option<SmtpSink>,
    pub clock: ManualClock,
    pub state: AppState,
    pub database_url: String,
    pub data_dir: tempfile::TempDir,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// An app that delivers mail to a real SMTP server process.
pub async fn spawn_app_with_smtp(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let mut app = spawn_app_with(backend, |s| {
        s.mail.server = "127.0.0.1".into();
        s.mail.port = port;
        s.mail.tls = portcullis::config::MailTls::None;
        customize(s);
    })
    .await;
    app.smtp = Some(sink);
    app
}

pub async fn spawn_app_with(backend: Backend, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut settings = Settings::defaults().expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.issuer = base.clone();
    settings.mail.poll_interval_ms = 100;
    settings.mail.send_timeout_secs = 5;
    settings.data_dir = data_dir.path().to_path_buf();
    settings.secret_key = Secret::new(SECRET_KEY);
    settings.database_url = Secret::new(match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => fresh_postgres_database().await,
    });
    customize(&mut settings);
    let database_url = settings.database_url();
    let issuer = settings.issuer.clone();
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let app = Application::build_on(settings, Arc::new(clock.clone()), listener).await.expect("application builds");
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp { base, issuer, smtp: None, clock, state, database_url, data_dir }
}

/// A new, empty database on the PostgreSQL server named by `PORTCULLIS_TEST_POSTGRES_URL`.
pub async fn fresh_postgres_database() -> String {
    let base = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .expect("PORTCULLIS_TEST_POSTGRES_URL must name a PostgreSQL server for the PostgreSQL variants");
    let name = format!("portcullis_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&base).await.expect("connect to PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    let _ = admin.close().await;
    let mut url = url::Url::parse(&base).expect("PostgreSQL URL");
    url.set_path(&name);
    url.to_string()
}

impl TestApp {
    /// A browser with its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A browser with its own cookie jar that sends this `User-Agent`.
    pub fn browser_as(&self, user_agent: &str) -> Browser {
        Browser::with_user_agent(&self.base, user_agent)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn smtp(&self) -> &SmtpSink {
        self.smtp.as_ref().expect("this app was spawned with an SMTP server")
    }

    /// A link from a mail, as a path on this test server (the link must start with the
    /// configured issuer).
    pub fn local(&self, link: &str) -> String {
        link.strip_prefix(&self.issuer).unwrap_or_else(|| panic!("{link} does not start with the issuer")).to_string()
    }

    /// The prefix of links to `path` in mail.
    pub fn link_to(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// One number from a query such as `SELECT COUNT(*) FROM users`.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sql::scalar(&self.state.db, sql).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Every durable record except sessions (which every page view touches), as text:
    /// equal snapshots mean nothing was written.
    pub async fn snapshot(&self) -> String {
        let mut out = String::new();
        for sql in [
            "SELECT id, username, email, email_normalized, email_verified, password_hash, display_name, is_admin, disabled, updated_at FROM users ORDER BY id",
            "SELECT token_hash, user_id, failures FROM known_devices ORDER BY token_hash",
        ] {
            for row in inspect::rows(&self.state.db, sql, vec![]).await.expect("snapshot query") {
                out.push_str(&format!("{row}\n"));
            }
        }
        out
    }

    /// The text of the newest delivered mail with `subject` (from the SMTP server, or from
    /// the `.eml` files of the outbox directory), waiting up to 15 s for one. The outbox
    /// table cannot tell: it keeps bodies sealed, and blanks them once sent.
    pub async fn mail_text(&self, subject: &str) -> String {
        if let Some(smtp) = &self.smtp {
            return smtp.wait_for_n("", subject, 1).await.pop().expect("a delivered mail").body;
        }
        let dir = self.data_dir.path().join("outbox");
        for _ in 0..300 {
            // File names are UUIDv7 message ids: sorted by name is sorted by age.
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
                .unwrap_or_default();
            files.retain(|f| f.extension().is_some_and(|x| x == "eml"));
            files.sort();
            let newest = files
                .iter()
                .rev()
                .filter_map(|f| std::fs::read_to_string(f).ok())
                .map(|raw| smtp::parse(&raw))
                .find(|m| m.subject == subject);
            if let Some(mail) = newest {
                return mail.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail {subject:?} was delivered to {}", dir.display());
    }

    pub async fn user_id(&self, username: &str) -> String {
        let ids = inspect::strings(&self.state.db, "SELECT id FROM users WHERE username = $1", vec![username.into()])
            .await
            .expect("query");
        ids.into_iter().flatten().next().expect("user exists")
    }
}
