//! Mail at rest and the reset request path: no row of the database holds a live reset or
//! confirmation link (the outbox keeps bodies sealed and blanks them once sent), `.eml` files
//! of the outbox directory go once their links have expired, and a reset request does the
//! same work whether or not its address has an account.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, SystemTime};

use portcullis::clock::ManualClock;
use portcullis::config::Settings;
use portcullis::identity::email::Email;
use portcullis::identity::password::Password;
use portcullis::identity::user::{DisplayName, NewUser, Username};
use portcullis::mail::worker::Jobs;
use portcullis::secret::Secret;
use portcullis::state::AppState;
use portcullis::store::inspect;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{Backend, PASSWORD, SECRET_KEY, TestApp, db_test, spawn_app, spawn_app_with_smtp};

const RESET_LINK: &str = "/reset-password/confirm?token=";
const VERIFY_LINK: &str = "/verify-email?token=";

async fn strings(state: &AppState, sql: &str) -> Vec<Option<String>> {
    inspect::strings(&state.db, sql, vec![]).await.unwrap_or_else(|e| panic!("{sql}: {e:#}"))
}

async fn tables(state: &AppState) -> Vec<String> {
    let sql = match inspect::backend(&state.db) {
        inspect::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        _ => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
              WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    strings(state, sql).await.into_iter().flatten().collect()
}

/// Every value of every column of every table, as text: what a reader of the database (or of
/// a backup) sees.
async fn raw_database(state: &AppState) -> String {
    let mut out = String::new();
    for table in tables(state).await {
        let columns_sql = match inspect::backend(&state.db) {
            inspect::Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            _ => format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
        };
        for column in strings(state, &columns_sql).await.into_iter().flatten() {
            for value in strings(state, &format!("SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\"")).await {
                out.push_str(&format!("{table}.{column}={}\n", value.unwrap_or_default()));
            }
        }
    }
    out
}

/// Rows per table.
async fn row_counts(state: &AppState) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for table in tables(state).await {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        counts.insert(table, inspect::count(&state.db, &sql, vec![]).await.unwrap());
    }
    counts
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").to_string()
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn json_reset(app: &TestApp, address: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/reset-password"))
        .json(&json!({ "email": address }))
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

db_test!(
    async fn no_row_holds_a_live_reset_or_confirmation_link_and_delivered_bodies_are_blanked(backend) {
        let mut app = spawn_app_with_smtp(backend, |_| {}).await;
        app.smtp.as_mut().unwrap().stop();
        assert_eq!(app.browser().register("alice", "alice@example.com", PASSWORD).await.status(), 200);
        assert_eq!(app.browser().submit("/reset-password", &[("email", "alice@example.com")]).await.status(), 200);
        wait_until("both mails were tried once and wait for the SMTP server", async || {
            app.count("mail_outbox WHERE status = 'pending' AND attempts >= 1").await == 2
        })
        .await;
        let waiting = raw_database(&app.state).await;
        assert!(waiting.contains("Reset your password"), "the dump sees the outbox: {waiting}");

        app.smtp.as_mut().unwrap().resume().await;
        app.clock.advance(Duration::seconds(31));
        let reset = app.smtp().wait_for("alice@example.com", "Reset your password").await.link(&app.link_to(RESET_LINK));
        let verify = app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await.link(&app.link_to(VERIFY_LINK));
        for secret in [&reset, &token_of(&reset), &verify, &token_of(&verify)] {
            assert!(!waiting.contains(secret.as_str()), "{secret} is readable in the database while the mail waits");
        }

        wait_until("both mails are marked sent", async || app.count("mail_outbox WHERE status = 'sent'").await == 2).await;
        assert_eq!(
            app.count("mail_outbox WHERE sealed IS NULL AND body_text = '' AND body_html = ''").await,
            2,
            "a delivered mail keeps no body"
        );
        let sent = raw_database(&app.state).await;
        for secret in [&token_of(&reset), &token_of(&verify)] {
            assert!(!sent.contains(secret.as_str()), "{secret} is readable in the database after delivery");
        }

        let browser = app.browser();
        assert_eq!(browser.get(&app.local(&verify)).await.status(), 200, "the confirmation link arrived intact");
        let form = browser.get(&app.local(&reset)).await;
        assert_eq!(form.status(), 200, "the reset link arrived intact");
        let token = token_of(&reset);
        let fields = [("token", token.as_str()), ("new_password", "a brand new passphrase"), ("confirm_password", "a brand new passphrase")];
        assert_eq!(browser.submit("/reset-password/confirm", &fields).await.status(), 200);
        assert_eq!(app.browser().login("alice", "a brand new passphrase").await.status(), 303);
    }
);

db_test!(
    async fn a_known_address_gets_a_working_link_and_an_unknown_one_leaves_no_token_and_no_mail(backend) {
        let app = spawn_app_with_smtp(backend, |_| {}).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.smtp().wait_for("alice@example.com", "Confirm your e-mail address").await;

        let unknown = json_reset(&app, "nobody@example.com").await;
        let known = json_reset(&app, "alice@example.com").await;
        assert_eq!(known.0, StatusCode::ACCEPTED);
        assert_eq!(known, unknown, "the same answer");

        let mail = app.smtp().wait_for("alice@example.com", "Reset your password").await;
        wait_until("every reset request was decided", async || app.count("mail_jobs").await == 0).await;
        let alice = app.user_id("alice").await;
        assert_eq!(app.count("email_tokens WHERE purpose = 'reset_password'").await, 1, "one reset token in all");
        assert_eq!(app.count(&format!("email_tokens WHERE purpose = 'reset_password' AND user_id = '{alice}'")).await, 1);
        assert_eq!(app.count("mail_outbox WHERE recipient = 'nobody@example.com'").await, 0, "nothing queued for nobody");
        assert!(app.smtp().messages_to("nobody@example.com").is_empty(), "nothing sent to nobody");

        let token = token_of(&mail.link(&app.link_to(RESET_LINK)));
        let confirm = reqwest::Client::new()
            .post(app.url("/reset-password/confirm"))
            .json(&json!({ "token": token, "new_password": "a brand new passphrase" }))
            .send()
            .await
            .unwrap();
        assert_eq!(confirm.status(), StatusCode::NO_CONTENT, "the link works");
        app.smtp().wait_for("alice@example.com", "Your password was changed").await;
    }
);

/// The application's services without the HTTP server and without the mail worker, so the
/// test sees exactly what the request path wrote.
async fn services_without_worker(backend: Backend) -> (AppState, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.issuer = "http://127.0.0.1:9".into();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.secret_key = Secret::new(SECRET_KEY);
    settings.database_url = Secret::new(match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => crate::helpers::fresh_postgres_database().await,
    });
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    (AppState::build(settings, Arc::new(clock), true).await.unwrap(), data_dir)
}

db_test!(
    async fn known_and_unknown_reset_requests_write_the_same_rows_on_the_request_path(backend) {
        let (state, _dir) = services_without_worker(backend).await;
        let accounts = &state.accounts;
        let new = NewUser {
            username: Username::parse("alice").unwrap(),
            email: Email::parse("alice@example.com").unwrap(),
            display_name: DisplayName::parse("").unwrap(),
            is_admin: false,
            email_verified: true,
        };
        let password = Password::new_for(PASSWORD, accounts.password_policy(), &[]).unwrap();
        accounts.register(new, password).await.unwrap();

        let before = row_counts(&state).await;
        let known = Email::parse("alice@example.com").unwrap();
        accounts.request_password_reset(&known, "10.0.0.1".parse().unwrap()).await.unwrap();
        let after_known = row_counts(&state).await;
        let unknown = Email::parse("nobody@example.com").unwrap();
        accounts.request_password_reset(&unknown, "10.0.0.2".parse().unwrap()).await.unwrap();
        let after_unknown = row_counts(&state).await;

        let delta = |from: &BTreeMap<String, i64>, to: &BTreeMap<String, i64>| -> BTreeMap<String, i64> {
            to.iter().map(|(t, n)| (t.clone(), n - from[t])).filter(|(_, d)| *d != 0).collect()
        };
        assert_eq!(delta(&before, &after_known), delta(&after_known, &after_unknown), "the same rows for both");
        assert_eq!(after_known["mail_jobs"], 1, "one job right after the known address's request");
        assert_eq!(after_unknown["mail_jobs"], 2, "and one more after the unknown one's");
        assert_eq!(after_unknown["email_tokens"], before["email_tokens"], "no token on the request path");
        assert_eq!(after_unknown["mail_outbox"], before["mail_outbox"], "no mail on the request path");

        assert_eq!(accounts.run_due().await.unwrap(), 2, "the worker decides both");
        let decided = row_counts(&state).await;
        assert_eq!(decided["mail_jobs"], 0);
        assert_eq!(decided["email_tokens"], before["email_tokens"] + 1, "a token for the known address only");
        assert_eq!(decided["mail_outbox"], before["mail_outbox"] + 1, "a mail for the known address only");
        let recipients = strings(&state, "SELECT recipient FROM mail_outbox WHERE subject = 'Reset your password'").await;
        assert_eq!(recipients, [Some("alice@example.com".to_string())]);
    }
);

fn eml_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(app.data_dir.path().join("outbox"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|f| f.extension().is_some_and(|x| x == "eml"));
    files.sort();
    files
}

db_test!(
    /// The application clock says when "now" is; a file's mtime says when its links went out.
    async fn housekeeping_removes_outbox_files_older_than_the_longest_link_lifetime(backend) {
        let app = spawn_app(backend).await;
        let longest = StdDuration::from_secs(48 * 3600);
        assert_eq!(app.state.settings.account.verify_token_lifetime_secs, 48 * 3600, "the longest link lifetime");
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.browser().register("bob", "bob@example.com", PASSWORD).await;
        wait_until("both confirmation mails are written", async || eml_files(&app).len() == 2).await;
        let files = eml_files(&app);
        let (older, fresh) = (&files[0], &files[1]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(fresh).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "a file with live links is readable by the server's user only");
        }
        let unrelated = app.data_dir.path().join("outbox").join("notes.txt");
        std::fs::write(&unrelated, "kept").unwrap();
        let now = SystemTime::now();
        for (file, age) in [(older, longest - StdDuration::from_secs(3600)), (&unrelated, longest * 2)] {
            std::fs::File::options().write(true).open(file).unwrap().set_modified(now - age).unwrap();
        }

        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(eml_files(&app), files, "47 hours old: both links may still be live");

        app.clock.advance(Duration::hours(2));
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(eml_files(&app), vec![fresh.clone()], "49 hours old by the application clock: removed");
        assert!(unrelated.exists(), "only .eml files are housekeeping's business");
    }
);

/// Not a test (timings have no place in assertions): prints the latency of reset requests
/// for a known and an unknown address, 200 each, interleaved, on SQLite (and PostgreSQL when
/// `PORTCULLIS_TEST_POSTGRES_URL` is set).
/// `cargo test --test app reset_request_latency -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for the record, not a test"]
async fn reset_request_latency_known_vs_unknown() {
    measure_reset_latency(Backend::Sqlite).await;
    if std::env::var("PORTCULLIS_TEST_POSTGRES_URL").is_ok() {
        measure_reset_latency(Backend::Postgres).await;
    }
}

async fn measure_reset_latency(backend: Backend) {
    // Budgets out of the way: a spent per-address budget would hide the known-address work.
    let app = crate::helpers::spawn_app_with(backend, |s| {
        s.account.reset_max_per_ip = 100_000;
        s.account.reset_max_per_address = 100_000;
    })
    .await;
    app.browser().register("alice", "alice@example.com", PASSWORD).await;
    let client = reqwest::Client::new();
    let url = app.url("/reset-password");
    let once = async |address: &str| {
        let started = std::time::Instant::now();
        let res = client.post(&url).json(&json!({ "email": address })).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        res.bytes().await.unwrap();
        started.elapsed()
    };
    for _ in 0..10 {
        once("alice@example.com").await;
        once("nobody@example.com").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..200 {
        if i % 2 == 0 {
            known.push(once("alice@example.com").await);
            unknown.push(once("nobody@example.com").await);
        } else {
            unknown.push(once("nobody@example.com").await);
            known.push(once("alice@example.com").await);
        }
    }
    for (what, mut samples) in [("known", known), ("unknown", unknown)] {
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "{backend:?} {what:>8}: median {:.2} ms, p90 {:.2} ms, max {:.2} ms (n = {})",
            at(0.5),
            at(0.9),
            at(1.0),
            samples.len()
        );
    }
}
