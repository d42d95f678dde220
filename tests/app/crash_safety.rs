//! Crash safety: the real `portcullis` binary is SIGKILLed while 200 registrations, 200
//! refresh-token rotations, a password reset and a reset request are in flight, restarted on
//! the same database, and then: every request that was answered with success is durable, no
//! record is half-written, and the outbox delivers every mail that was queued.
//!
//! Mail goes to an SMTP port with nothing listening before the kill (so nothing is delivered
//! and every mail must survive in the outbox); after the restart a real SMTP server listens
//! there. Loops are bounded by counts and by one generous wall-clock deadline.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use portcullis::store::Db;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::helpers::sql::{scalar, text};
use crate::helpers::{Backend, PASSWORD, SECRET_KEY, SmtpSink, db_test, fresh_postgres_database};

const REGISTRATIONS: usize = 200;
const REFRESHES: usize = 200;
/// The refreshes (and the reset) start once this many registrations were answered…
const LAUNCH_AFTER_REGISTRATIONS: usize = 40;
/// …and the server is killed the moment this many refreshes were answered.
const KILL_AFTER_REFRESHES: usize = 50;
/// One bound for every wait of the scenario (a mail leased at the kill waits out its
/// 2 × 1 s send timeout + 30 s lease before it is tried again; on PostgreSQL, beside the rest
/// of the suite, draining the outbox once took longer than 150 s).
const DEADLINE: Duration = Duration::from_secs(300);
const NEW_PASSWORD: &str = "a brand new passphrase";

/// What became of one request.
#[derive(Debug, Clone)]
enum Outcome {
    /// A success answer, with its body.
    Answered(Value),
    /// An answer that is not a success (only 503, the overload answer, is acceptable).
    Refused(u16, String),
    /// The connection died with the server.
    NoAnswer,
}

impl Outcome {
    fn answered(&self) -> Option<&Value> {
        match self {
            Outcome::Answered(v) => Some(v),
            _ => None,
        }
    }
}

struct Server {
    base: String,
    child: Arc<Mutex<Option<Child>>>,
}

impl Server {
    /// SIGKILL (`Child::kill` on Unix); a second call does nothing.
    fn kill(&self) {
        kill(&self.child);
    }
}

fn kill(child: &Mutex<Option<Child>>) {
    if let Some(mut child) = child.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary on `database_url` (empty: SQLite in `data`), mail to `smtp_port`.
async fn start(database_url: &str, data: &Path, smtp_port: u16, run: &str) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = data.join(format!("server-{run}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", SECRET_KEY)
        .env("PORTCULLIS_ISSUER", &base)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_DATA_DIR", data)
        .env("PORTCULLIS_LOG", "warn")
        .env("PORTCULLIS_LOG_FORMAT", "json")
        // 256 queued hashes: the 200 registrations wait for a hashing thread, not a 503.
        .env("PORTCULLIS_HASH_CONCURRENCY", "4")
        .env("PORTCULLIS_DB_ACQUIRE_TIMEOUT", "30")
        // Parallel sign-ins to one account count as attempts until each succeeds.
        .env("PORTCULLIS_LOGIN_FREE_FAILURES", "1000")
        // 200 registrations from one address in one burst: the registration limits would refuse most.
        .env("PORTCULLIS_REGISTER_MAX_PER_IP", "100000")
        .env("PORTCULLIS_REGISTER_MAX_GLOBAL", "100000")
        .env("MAIL_SERVER", "127.0.0.1")
        .env("MAIL_PORT", smtp_port.to_string())
        .env("PORTCULLIS_MAIL_TLS", "none")
        .env("PORTCULLIS_MAIL_SEND_TIMEOUT", "1")
        .env("PORTCULLIS_MAIL_RETRY_BASE", "1")
        .env("PORTCULLIS_MAIL_RETRY_MAX", "1")
        .env("PORTCULLIS_MAIL_MAX_ATTEMPTS", "100000")
        .env("PORTCULLIS_MAIL_POLL_INTERVAL_MS", "100")
        .current_dir(data)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the binary starts");
    let server = Server { base, child: Arc::new(Mutex::new(Some(child))) };
    for _ in 0..300 {
        if reqwest::get(format!("{}/health/ready", server.base)).await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();
    panic!("the {run} server did not become ready:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
}

async fn send(req: reqwest::RequestBuilder, success: u16) -> Outcome {
    match req.send().await {
        Ok(res) if res.status().as_u16() == success => {
            // A body that cannot be read died with the server: no answer.
            match res.bytes().await {
                Ok(body) => Outcome::Answered(serde_json::from_slice(&body).unwrap_or(Value::Null)),
                Err(_) => Outcome::NoAnswer,
            }
        }
        Ok(res) => Outcome::Refused(res.status().as_u16(), res.text().await.unwrap_or_default()),
        Err(_) => Outcome::NoAnswer,
    }
}

fn http() -> reqwest::Client {
    // Generous per-request bound so a stuck request fails the test instead of hanging it.
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

async fn register(http: &reqwest::Client, base: &str, name: &str) -> Outcome {
    let body = json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
    send(http.post(format!("{base}/register")).json(&body), 201).await
}

async fn login(http: &reqwest::Client, base: &str, name: &str, password: &str) -> Outcome {
    send(http.post(format!("{base}/login")).json(&json!({"username": name, "password": password})), 200).await
}

async fn refresh(http: &reqwest::Client, base: &str, token: &str) -> Outcome {
    let form = [("grant_type", "refresh_token"), ("client_id", "portcullis-api"), ("refresh_token", token)];
    send(http.post(format!("{base}/token")).form(&form), 200).await
}

async fn confirm_reset(http: &reqwest::Client, base: &str, token: &str, password: &str) -> Outcome {
    let body = json!({"token": token, "new_password": password});
    send(http.post(format!("{base}/reset-password/confirm")).json(&body), 204).await
}

fn refresh_token_of(outcome: &Outcome) -> String {
    let body = outcome.answered().unwrap_or_else(|| panic!("expected tokens, got {outcome:?}"));
    body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh_token in {body}")).to_string()
}

/// Waits on `done` until the deadline, failing with `what`.
async fn until(started: Instant, what: &str, mut done: impl AsyncFnMut() -> bool) {
    while !done().await {
        assert!(started.elapsed() < DEADLINE, "gave up after {DEADLINE:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of `email`'s reset mail: the worker writes it off the request path, sealed under
/// the outbox key derived from `SECRET_KEY`, so the test waits for the row and opens it.
async fn reset_mail_text(db: &Db, email: &str) -> String {
    let sql =
        format!("SELECT COUNT(*) FROM mail_outbox WHERE recipient = '{email}' AND subject = 'Reset your password'");
    until(Instant::now(), "the reset mail is queued", async || scalar(db, &sql).await > 0).await;
    let column = |c: &str| {
        format!("SELECT {c} FROM mail_outbox WHERE recipient = '{email}' AND subject = 'Reset your password'")
    };
    let stored = portcullis::store::outbox::StoredMail {
        id: text(db, &column("id")).await,
        recipient: email.to_string(),
        subject: "Reset your password".into(),
        sealed: Some(text(db, &column("sealed")).await),
        legacy_text: String::new(),
        legacy_html: String::new(),
        attempts: 0,
    };
    let outbox = portcullis::mail::Outbox::new("http://127.0.0.1", &portcullis::secret::Secret::new(SECRET_KEY))
        .expect("the outbox key derives");
    outbox.open(&stored).expect("the sealed reset mail opens with the secret key").text.to_string()
}

/// A password reset whose link is confirmed while the server may die.
struct Reset {
    user: &'static str,
    token: String,
    hash_before: String,
}

impl Reset {
    async fn prepare(client: &reqwest::Client, base: &str, db: &Db, user: &'static str) -> Self {
        let email = format!("{user}@example.com");
        let asked = send(client.post(format!("{base}/reset-password")).json(&json!({"email": email})), 202).await;
        assert!(asked.answered().is_some(), "setup: reset request of {user}: {asked:?}");
        let mail = reset_mail_text(db, &email).await;
        let token = mail.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        let hash_before = text(db, &format!("SELECT password_hash FROM users WHERE username = '{user}'")).await;
        Self { user, token, hash_before }
    }

    fn confirm(&self, client: &reqwest::Client, base: &str) -> tokio::task::JoinHandle<Outcome> {
        let (client, base, token) = (client.clone(), base.to_string(), self.token.clone());
        tokio::spawn(async move { confirm_reset(&client, &base, &token, NEW_PASSWORD).await })
    }

    /// All or nothing: the link used ⇔ the password changed ⇔ the notice queued; an
    /// answered reset changed it; afterwards exactly one of the passwords works, and the
    /// link works again only if it was not used.
    async fn check(&self, db: &Db, client: &reqwest::Client, base: &str, outcome: &Outcome) {
        let user = self.user;
        let changed =
            text(db, &format!("SELECT password_hash FROM users WHERE username = '{user}'")).await != self.hash_before;
        let used = scalar(
            db,
            &format!(
                "SELECT COUNT(*) FROM email_tokens t JOIN users u ON u.id = t.user_id \
            WHERE u.username = '{user}' AND t.purpose = 'reset_password' AND t.used_at IS NOT NULL"
            ),
        )
        .await
            > 0;
        let notice = scalar(
            db,
            &format!(
                "SELECT COUNT(*) FROM mail_outbox WHERE recipient = '{user}@example.com' \
            AND subject = 'Your password was changed'"
            ),
        )
        .await
            > 0;
        assert_eq!((used, notice), (changed, changed), "{user}: (link used, notice queued) against password changed");
        if outcome.answered().is_some() {
            assert!(changed, "{user}: an answered reset changed the password");
        }
        let (works, not) = if changed { (NEW_PASSWORD, PASSWORD) } else { (PASSWORD, NEW_PASSWORD) };
        assert!(
            login(client, base, user, works).await.answered().is_some(),
            "{user} (changed: {changed}): the current password"
        );
        assert!(
            login(client, base, user, not).await.answered().is_none(),
            "{user} (changed: {changed}): the other one"
        );
        let again = confirm_reset(client, base, &self.token, "yet another passphrase").await;
        assert_eq!(again.answered().is_some(), !changed, "{user} (changed: {changed}): the link again: {again:?}");
    }
}

fn answered(outcome: &Outcome) -> &'static str {
    if outcome.answered().is_some() { "answered" } else { "unanswered" }
}

/// Collects spawned requests, each bounded by the deadline.
async fn outcomes(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Vec<Outcome> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(tokio::time::timeout(DEADLINE, task).await.expect("a request ends").expect("a request task"));
    }
    out
}

db_test!(
    async fn a_server_killed_mid_burst_keeps_every_answered_request_and_no_half_written_record(backend) {
        kill_mid_burst_and_restart(backend).await
    }
);

async fn kill_mid_burst_and_restart(backend: Backend) {
    let started = Instant::now();
    let data = tempfile::tempdir().unwrap();
    let (database_url, check_url) = match backend {
        Backend::Sqlite => (String::new(), format!("sqlite://{}?mode=rw", data.path().join("portcullis.db").display())),
        Backend::Postgres => {
            let url = fresh_postgres_database().await;
            (url.clone(), url)
        }
    };
    // The SMTP port is reserved but nobody listens until after the restart.
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let server = start(&database_url, data.path(), sink.port, "first").await;
    let base = server.base.clone();
    let client = http();

    // Arrange: ten users with 20 API sign-ins each (200 grants); two with a reset link,
    // confirmed before and during the burst; one who asks for a reset during it.
    let refreshers: Vec<String> = (0..10).map(|i| format!("refresher{i}")).collect();
    for name in refreshers.iter().map(String::as_str).chain(["early", "late", "forgetful"]) {
        assert!(register(&client, &base, name).await.answered().is_some(), "setup: register {name}");
    }
    // One sign-in at a time per account: parallel attempts on one account are refused.
    let per_account = futures::future::join_all(refreshers.iter().map(|name| async {
        let mut tokens = Vec::new();
        for _ in 0..REFRESHES / refreshers.len() {
            tokens.push(refresh_token_of(&login(&client, &base, name, PASSWORD).await));
        }
        tokens
    }))
    .await;
    let first_tokens: Vec<String> = per_account.into_iter().flatten().collect();
    assert_eq!(first_tokens.len(), REFRESHES);
    let settings = portcullis::config::DatabaseSettings {
        max_connections: 2,
        acquire_timeout_secs: 30,
        migrate_on_start: false,
        group_commit: false,
    };
    let db = Db::connect(&check_url, &settings).await.expect("the test connects to the database");
    let (early, late) =
        (Reset::prepare(&client, &base, &db, "early").await, Reset::prepare(&client, &base, &db, "late").await);
    let arranged = started.elapsed();

    // Act: the burst, and the kill in the middle of it.
    let early_confirm = early.confirm(&client, &base);
    let registered = Arc::new(AtomicUsize::new(0));
    let launch = Arc::new(Notify::new());
    let registrations: Vec<_> = (0..REGISTRATIONS)
        .map(|i| {
            let (client, base, registered, launch) = (client.clone(), base.clone(), registered.clone(), launch.clone());
            tokio::spawn(async move {
                let outcome = register(&client, &base, &format!("crash{i:03}")).await;
                if outcome.answered().is_some()
                    && registered.fetch_add(1, Ordering::SeqCst) + 1 == LAUNCH_AFTER_REGISTRATIONS
                {
                    launch.notify_one();
                }
                outcome
            })
        })
        .collect();
    tokio::time::timeout(DEADLINE, launch.notified())
        .await
        .unwrap_or_else(|_| panic!("only {} registrations answered", registered.load(Ordering::SeqCst)));
    let refreshed = Arc::new(AtomicUsize::new(0));
    let refreshes: Vec<_> = first_tokens
        .iter()
        .map(|token| {
            let (client, base, token, refreshed, child) =
                (client.clone(), base.clone(), token.clone(), refreshed.clone(), server.child.clone());
            tokio::spawn(async move {
                let outcome = refresh(&client, &base, &token).await;
                if outcome.answered().is_some() && refreshed.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER_REFRESHES
                {
                    kill(&child); // SIGKILL, this very moment
                }
                outcome
            })
        })
        .collect();
    let late_confirm = late.confirm(&client, &base);
    let asked = tokio::spawn(send(
        client.post(format!("{base}/reset-password")).json(&json!({"email": "forgetful@example.com"})),
        202,
    ));
    let refreshes = outcomes(refreshes).await;
    server.kill(); // in case every refresh ended before the count was reached
    let killed = started.elapsed();
    let registrations = outcomes(registrations).await;
    let [early_confirm, late_confirm, asked]: [Outcome; 3] =
        outcomes(vec![early_confirm, late_confirm, asked]).await.try_into().unwrap();

    let answered_registrations: Vec<String> =
        (0..REGISTRATIONS).filter(|i| registrations[*i].answered().is_some()).map(|i| format!("crash{i:03}")).collect();
    let answered_refreshes: Vec<String> =
        refreshes.iter().filter(|o| o.answered().is_some()).map(refresh_token_of).collect();
    let singles = [("early reset", &early_confirm), ("late reset", &late_confirm), ("reset request", &asked)];
    for (what, outcome) in registrations.iter().chain(&refreshes).map(|o| ("burst", o)).chain(singles) {
        if let Outcome::Refused(status, body) = outcome {
            assert_eq!(*status, 503, "{what}: a refusal that is not the overload answer: {body}");
        }
    }
    eprintln!(
        "{backend:?}: killed with {}/{REGISTRATIONS} registrations and {}/{REFRESHES} refreshes answered; \
         early reset {}, late reset {}, reset request {}",
        answered_registrations.len(),
        answered_refreshes.len(),
        answered(&early_confirm),
        answered(&late_confirm),
        answered(&asked),
    );
    assert!(answered_refreshes.len() >= KILL_AFTER_REFRESHES, "refreshes failed before the kill: {refreshes:?}");
    // Under load the registrations (started first) may all be answered before the 50th
    // refresh; what matters is that requests were still in flight when the kill landed.
    assert!(
        answered_registrations.len() < REGISTRATIONS || answered_refreshes.len() < REFRESHES,
        "the kill landed after every request was answered: nothing was in flight"
    );

    // Restart on the same database; now mail can be delivered.
    sink.resume().await;
    let server = start(&database_url, data.path(), sink.port, "restarted").await;
    let base = server.base.clone();
    let restarted = started.elapsed();

    // No half-written record.
    let no_credentials = scalar(&db, "SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE '$argon2id$%'").await;
    assert_eq!(no_credentials, 0, "users without a password hash");
    let unconfirmable = scalar(
        &db,
        "SELECT COUNT(*) FROM users u WHERE NOT EXISTS \
            (SELECT 1 FROM email_tokens t WHERE t.user_id = u.id AND t.purpose = 'verify_email') OR NOT EXISTS \
            (SELECT 1 FROM mail_outbox m WHERE m.recipient = u.email AND m.subject = 'Confirm your e-mail address')",
    )
    .await;
    assert_eq!(unconfirmable, 0, "users without their confirmation token or mail");
    let tokenless = scalar(
        &db,
        "SELECT COUNT(*) FROM grants g WHERE g.revoked_at IS NULL AND \
            (SELECT COUNT(*) FROM refresh_tokens r WHERE r.grant_id = g.id AND r.used_at IS NULL) <> 1",
    )
    .await;
    assert_eq!(tokenless, 0, "live grants without exactly one live refresh token");
    // (Strict reuse detection keeps no sealed successor beside a rotated token: the check
    // above, one live token per live grant, is what a lost successor would break.)
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL").await,
        REFRESHES as i64,
        "no grant was lost or revoked"
    );
    let committed = scalar(&db, "SELECT COUNT(*) FROM users WHERE username LIKE 'crash%'").await as usize;
    assert!(
        committed >= answered_registrations.len(),
        "{committed} accounts stored, {} answered",
        answered_registrations.len()
    );
    if asked.answered().is_some() {
        // The request stored a sealed job; the restarted worker turns it into the mail.
        let sql = "SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'forgetful@example.com' \
                   AND subject = 'Reset your password'";
        until(started, "an answered reset request's mail is queued", async || scalar(&db, sql).await == 1).await;
    }

    // Every answered request is durable.
    let sign_ins: Vec<(String, Outcome)> = futures::stream::iter(answered_registrations.clone())
        .map(|name| async {
            let o = login(&client, &base, &name, PASSWORD).await;
            (name, o)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (name, outcome) in &sign_ins {
        assert!(outcome.answered().is_some(), "answered registration {name} signs in: {outcome:?}");
    }
    // Rotations that were never answered either left their presented token unused (the
    // client's retry rotates it) or committed just before the kill with exactly one successor
    // (the one-live-token check above). Retry the unused ones first: their grants are live.
    let unanswered: Vec<&String> =
        first_tokens.iter().zip(&refreshes).filter(|(_, o)| o.answered().is_none()).map(|(t, _)| t).collect();
    let mut retried = 0;
    for token in unanswered {
        let hash = portcullis::secret::token_hash(token);
        let unused = format!("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '{hash}' AND used_at IS NULL");
        if scalar(&db, &unused).await == 1 {
            let outcome = refresh(&client, &base, token).await;
            assert!(outcome.answered().is_some(), "an unanswered, uncommitted rotation can be retried: {outcome:?}");
            retried += 1;
        }
    }
    eprintln!("{backend:?}: {retried} unanswered rotations had not committed and were retried");
    for successor in &answered_refreshes {
        let outcome = refresh(&client, &base, successor).await;
        assert!(outcome.answered().is_some(), "an answered refresh's successor works: {outcome:?}");
        // ... once: presented again it is reuse (and its grant ends).
        let again = refresh(&client, &base, successor).await;
        assert!(
            matches!(&again, Outcome::Refused(400, body) if body.contains("invalid_grant")),
            "an answered refresh's successor works only once: {again:?}"
        );
    }
    early.check(&db, &client, &base, &early_confirm).await;
    late.check(&db, &client, &base, &late_confirm).await;
    let checked = started.elapsed();

    // Every queued mail is delivered after the restart.
    until(started, "the outbox empties", async || {
        let failed = scalar(&db, "SELECT COUNT(*) FROM mail_outbox WHERE status = 'failed'").await;
        assert_eq!(failed, 0, "mail marked failed");
        scalar(&db, "SELECT COUNT(*) FROM mail_outbox WHERE status <> 'sent'").await == 0
    })
    .await;
    let queued = scalar(&db, "SELECT COUNT(*) FROM mail_outbox").await as usize;
    let delivered = sink.messages();
    assert!(delivered.len() >= queued, "{} delivered of {queued} queued", delivered.len());
    for name in &answered_registrations {
        let to = format!("{name}@example.com");
        assert!(
            delivered.iter().any(|m| m.to.contains(&to) && m.subject == "Confirm your e-mail address"),
            "the confirmation mail of answered registration {name}"
        );
    }
    if asked.answered().is_some() {
        assert!(delivered.iter().any(|m| m.to.contains("forgetful@example.com") && m.subject == "Reset your password"));
    }
    eprintln!(
        "{backend:?}: {committed} accounts committed, {queued} mails delivered; arranged {arranged:?}, \
         killed {killed:?}, restarted {restarted:?}, checked {checked:?}, mail out {:?}",
        started.elapsed()
    );
    drop(server);
}
