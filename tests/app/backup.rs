//! `portcullis backup`, `restore` and `copy-db`, run as the real binary against databases a
//! running app uses: a backup taken under load holds every acknowledged registration; a
//! restore is refused while a server has the database open and works once none does; a
//! database copied (to PostgreSQL in CI) keeps refresh tokens, TOTP sign-ins and signing keys
//! working under the same SECRET_KEY.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis::secret::Secret;
use portcullis::store::{Db, inspect};
use serde_json::{Value, json};

use crate::helpers::oidc::{Consent, TestClient, authorize_path, drive, param, pkce};
use crate::helpers::sql::scalar;
use crate::helpers::totp::code_at;
use crate::helpers::{
    Backend, PASSWORD, SECRET_KEY, TestApp, db_test, fresh_postgres_database, location, spawn_app, spawn_app_with,
};

/// Runs the binary with `DATABASE_URL` = `database_url`.
fn portcullis_on(database_url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_clear()
        .env("PORTCULLIS_DATA_DIR", dir)
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", SECRET_KEY)
        .env("PORTCULLIS_LOG", "warn")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// An app whose registrations are not rate-limited (the load test registers in bursts).
async fn unthrottled_app() -> TestApp {
    spawn_app_with(Backend::Sqlite, |s| {
        s.account.register_max_per_ip = 100_000;
        s.account.register_max_global = 100_000;
    })
    .await
}

async fn register(http: &reqwest::Client, app: &TestApp, name: &str) -> bool {
    let body = json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
    http.post(app.url("/register")).json(&body).send().await.is_ok_and(|r| r.status() == 201)
}

/// A database file opened like the server opens one (WAL, foreign keys).
async fn open(path: &Path) -> Db {
    let settings = portcullis::config::Settings::defaults().unwrap().database;
    Db::connect(&sqlite_url(path), &settings).await.expect("the file opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_opens_passes_integrity_check_and_holds_every_acknowledged_registration() {
    let app = unthrottled_app().await;
    let http = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    for i in 0..20 {
        assert!(register(&http, &app, &format!("before{i}")).await);
        acknowledged.lock().unwrap().push(format!("before{i}"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (http, url, acknowledged, stop) = (http.clone(), app.url("/register"), acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("load{w}x{i}");
                let body = json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
                if http.post(&url).json(&body).send().await.is_ok_and(|r| r.status() == 201) {
                    acknowledged.lock().unwrap().push(name);
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let file = app.data_dir.path().join("backup.db");
    let before_backup: Vec<String> = acknowledged.lock().unwrap().clone();
    let (url, dir, to) = (app.database_url.clone(), app.data_dir.path().to_path_buf(), file.display().to_string());
    let out = tokio::task::spawn_blocking(move || portcullis_on(&url, &dir, &["backup", "--to", &to])).await.unwrap();
    let during = acknowledged.lock().unwrap().len() - before_backup.len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(out.status.success(), "backup: {}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("integrity ok"));
    let after = acknowledged.lock().unwrap().len();
    assert!(during > 0, "registrations were acknowledged while the backup ran");
    assert!(after > before_backup.len() + during, "and went on after it");

    let copy = open(&file).await;
    let check = inspect::strings(&copy, "PRAGMA integrity_check", vec![]).await.unwrap();
    assert_eq!(check, vec![Some("ok".to_string())], "the copy passes integrity_check");
    let in_copy: Vec<String> =
        inspect::strings(&copy, "SELECT username FROM users", vec![]).await.unwrap().into_iter().flatten().collect();
    let missing: Vec<&String> = before_backup.iter().filter(|n| !in_copy.contains(n)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup started but not in it: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_never_overwrites_a_file_without_force_and_sends_postgresql_to_pg_dump() {
    let app = spawn_app(Backend::Sqlite).await;
    let file = app.data_dir.path().join("precious.db");
    std::fs::write(&file, b"not to be lost").unwrap();
    let dir = app.data_dir.path();
    let out = portcullis_on(&app.database_url, dir, &["backup", "--to", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"not to be lost");

    let out = portcullis_on(&app.database_url, dir, &["backup", "--to", file.to_str().unwrap(), "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&file).unwrap().starts_with(b"SQLite format 3\0"), "replaced by the copy");
    let leftovers: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains(".backup-")), "no temp file left: {leftovers:?}");

    let out = portcullis_on("postgres://portcullis@db.example/portcullis", dir, &["backup", "--to", "x.db"]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("pg_dump") && message.contains("pg_restore") && message.contains("SECRET_KEY"),
        "{message}"
    );
}

/// A server process, SIGKILLed when dropped (so a failing test leaves none behind).
struct Serving(Child);

impl Serving {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `portcullis serve` on the SQLite database in `data`, ready.
async fn serve(data: &Path) -> Serving {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .env_clear()
        .env("SECRET_KEY", SECRET_KEY)
        .env("PORTCULLIS_ISSUER", &base)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_DATA_DIR", data)
        .env("PORTCULLIS_LOG", "warn")
        .current_dir(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut server = Serving(child);
    for _ in 0..300 {
        if reqwest::get(format!("{base}/health/ready")).await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();
    panic!("the server did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_is_refused_while_a_server_has_the_database_open_and_works_once_none_does() {
    let app = spawn_app(Backend::Sqlite).await;
    app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
    let file = app.data_dir.path().join("alice.db");
    let out = portcullis_on(&app.database_url, app.data_dir.path(), &["backup", "--to", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    app.browser().register("bob", "bob@example.com", PASSWORD).await;

    let refused = portcullis_on(&app.database_url, app.data_dir.path(), &["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("in use by a running Portcullis"), "{}", stderr(&refused));
    assert_eq!(app.count("users").await, 2, "the running server's database is untouched");

    // A server process of its own, then SIGKILLed: the kernel drops its lock with it.
    let data = tempfile::tempdir().unwrap();
    let database = data.path().join("portcullis.db");
    let mut server = serve(data.path()).await;
    let restore = || portcullis_on(&sqlite_url(&database), data.path(), &["restore", "--from", file.to_str().unwrap()]);
    let refused = restore();
    assert_eq!(refused.status.code(), Some(1), "refused while `serve` runs: {}", stderr(&refused));
    server.kill();
    let out = restore();
    assert!(out.status.success(), "restored once no server runs: {}", stderr(&out));
    assert!(data.path().join("portcullis.db.before-restore").is_file(), "the replaced database is kept");

    let restored = spawn_app_with(Backend::Sqlite, |s| s.database_url = Secret::new(sqlite_url(&database))).await;
    let res = restored.browser().login("alice", PASSWORD).await;
    assert_eq!(
        (res.status().as_u16(), location(&res)),
        (303, "/profile".to_string()),
        "alice signs in on the restored data"
    );
    assert_eq!(restored.count("users").await, 1, "bob came after the backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_files_that_are_not_portcullis_databases_of_this_version() {
    let app = spawn_app(Backend::Sqlite).await;
    let dir = app.data_dir.path();
    let good = dir.join("good.db");
    assert!(portcullis_on(&app.database_url, dir, &["backup", "--to", good.to_str().unwrap()]).status.success());

    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let foreign = dir.join("foreign.db");
    inspect::execute_sql(&open(&foreign).await, "CREATE TABLE notes (id INTEGER PRIMARY KEY)", vec![]).await.unwrap();
    let future = dir.join("future.db");
    std::fs::copy(&good, &future).unwrap();
    let sql = "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000099_future', 0)";
    inspect::execute_sql(&open(&future).await, sql, vec![]).await.unwrap();

    let target = tempfile::tempdir().unwrap();
    let database = target.path().join("portcullis.db");
    for (case, file, expected) in [
        ("not SQLite", &garbage, "not a database"),
        ("no migrations table", &foreign, "not a Portcullis database"),
        ("a newer schema", &future, "newer Portcullis"),
    ] {
        let out = portcullis_on(&sqlite_url(&database), target.path(), &["restore", "--from", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{case}");
        assert!(stderr(&out).contains(expected), "{case}: {}", stderr(&out));
        assert!(!database.exists(), "{case}: nothing was put in place");
    }
    let out = portcullis_on(&sqlite_url(&database), target.path(), &["restore", "--from", good.to_str().unwrap()]);
    assert!(out.status.success(), "a good backup onto no database: {}", stderr(&out));

    // The usual reason to restore: the database itself is broken.
    std::fs::write(&database, vec![0u8; 4096]).unwrap();
    let args = ["restore", "--from", good.to_str().unwrap(), "--force"];
    let out = portcullis_on(&sqlite_url(&database), target.path(), &args);
    assert!(out.status.success(), "a good backup over a broken database: {}", stderr(&out));
    assert_eq!(std::fs::read(target.path().join("portcullis.db.before-restore")).unwrap(), vec![0u8; 4096]);
    let restored = open(&database).await;
    assert_eq!(inspect::strings(&restored, "PRAGMA integrity_check", vec![]).await.unwrap(), vec![Some("ok".into())]);
}

/// A target database for `copy-db`: a SQLite file, or a fresh PostgreSQL database.
async fn empty_target(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => sqlite_url(&dir.join("copy.db")),
        Backend::Postgres => fresh_postgres_database().await,
    }
}

fn copy_db(app: &TestApp, to: &str, extra: &[&str]) -> Output {
    let mut args = vec!["copy-db", "--from", &app.database_url, "--to", to];
    args.extend_from_slice(extra);
    portcullis_on(&app.database_url, app.data_dir.path(), &args)
}

/// Checks `jwt`'s signature with the key its `kid` names in `app`'s JWKS.
async fn verifies_against_jwks(app: &TestApp, jwt: &str) -> bool {
    use josekit::jws::{ES256, EdDSA, RS256};
    let jwks: Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
    let header = josekit::jwt::decode_header(jwt).unwrap();
    let (kid, alg) = (header.claim("kid").cloned().unwrap(), header.claim("alg").cloned().unwrap());
    let Some(key) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid) else { return false };
    let jwk = josekit::jwk::Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
    let verified = match alg.as_str().unwrap() {
        "RS256" => josekit::jwt::decode_with_verifier(jwt, &RS256.verifier_from_jwk(&jwk).unwrap()),
        "ES256" => josekit::jwt::decode_with_verifier(jwt, &ES256.verifier_from_jwk(&jwk).unwrap()),
        "EdDSA" => josekit::jwt::decode_with_verifier(jwt, &EdDSA.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    verified.is_ok()
}

async fn kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
    let mut kids: Vec<String> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].to_string()).collect();
    kids.sort();
    kids
}

/// Bob's code flow with `offline_access`: the token response.
async fn code_flow(app: &TestApp, client: &TestClient) -> Value {
    let browser = app.browser();
    browser.sign_up("bob", "bob@example.com", PASSWORD).await;
    let (verifier, challenge) = pkce();
    let path = authorize_path(&client.id, &challenge, &[("scope", "openid profile offline_access")]);
    let back = drive(&browser, &path, ("bob", PASSWORD), Consent::Allow).await;
    let (status, tokens) = app.exchange(client, &param(&back, "code").expect("a code"), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

db_test!(
    async fn a_copied_database_keeps_refresh_tokens_totp_sign_ins_and_signing_keys_working(backend) {
        let app = spawn_app(Backend::Sqlite).await;
        let alice = app.browser();
        alice.sign_up("alice", "alice@example.com", PASSWORD).await;
        let enrolled = app.enrol(&alice, PASSWORD).await;
        let client = app.web_client("web").await;
        let tokens = code_flow(&app, &client).await;
        let keys_before = kids(&app).await;

        let target = empty_target(backend, app.data_dir.path()).await;
        let out = copy_db(&app, &target, &[]);
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}\n{summary}", stderr(&out));
        assert!(summary.contains("every count and checksum matches"), "{summary}");
        assert!(stderr(&out).contains("copy-db: users: 2/2 rows"), "progress on stderr: {}", stderr(&out));

        let issuer = app.issuer.clone();
        let moved = spawn_app_with(Backend::Sqlite, |s| {
            s.database_url = Secret::new(target.clone());
            s.issuer = issuer;
        })
        .await;
        assert_eq!(kids(&moved).await, keys_before, "the same signing keys");
        let id_token = tokens["id_token"].as_str().unwrap();
        assert!(verifies_against_jwks(&moved, id_token).await, "a token from before the move verifies");

        let (status, refreshed) = moved.refresh(&client, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "the refresh token issued before the move works: {refreshed}");
        assert!(verifies_against_jwks(&moved, refreshed["access_token"].as_str().unwrap()).await);
        assert_eq!(moved.userinfo_status(refreshed["access_token"].as_str().unwrap()).await, 200);

        moved.clock.advance(time::Duration::seconds(60));
        let browser = moved.browser();
        assert_eq!(location(&browser.login("alice", PASSWORD).await), "/login/totp");
        let res = browser.submit("/login/totp", &[("code", &code_at(&enrolled.secret, moved.now()))]).await;
        assert_eq!(location(&res), "/profile", "a TOTP sign-in works: the secret decrypts under the same SECRET_KEY");
    }
);

db_test!(
    async fn copy_db_refuses_a_target_that_is_not_empty_and_can_leave_sessions_behind(backend) {
        let app = spawn_app(Backend::Sqlite).await;
        app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
        assert!(app.count("sessions").await > 0);
        let target = empty_target(backend, app.data_dir.path()).await;
        let out = copy_db(&app, &target, &["--skip-sessions", "--batch-size", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("sessions") && l.ends_with("skipped")));

        let settings = portcullis::config::Settings::defaults().unwrap().database;
        let copy = Db::connect(&target, &settings).await.unwrap();
        assert_eq!(scalar(&copy, "SELECT COUNT(*) FROM sessions").await, 0, "sessions left behind");
        let users = scalar(&copy, "SELECT COUNT(*) FROM users").await;
        assert_eq!(users, 1);

        let back = sqlite_url(&app.data_dir.path().join("back.db"));
        let out = portcullis_on(&app.database_url, app.data_dir.path(), &["copy-db", "--from", &target, "--to", &back]);
        assert!(out.status.success(), "and back again: {}", stderr(&out));

        let again = copy_db(&app, &target, &[]);
        assert_eq!(again.status.code(), Some(1));
        assert!(stderr(&again).contains("the target is not empty: "), "{}", stderr(&again));
        assert!(stderr(&again).contains("users (1 rows)"), "{}", stderr(&again));
        assert_eq!(scalar(&copy, "SELECT COUNT(*) FROM users").await, users, "nothing was added");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_db_compares_what_it_wrote_and_commits_nothing_when_a_table_differs() {
    let app = spawn_app(Backend::Sqlite).await;
    app.browser().sign_up("alice", "alice@example.com", PASSWORD).await;
    let target = app.data_dir.path().join("tampered.db");
    let settings = portcullis::config::Settings::defaults().unwrap().database;
    let tampered = Db::connect(&sqlite_url(&target), &settings).await.unwrap();
    tampered.migrate().await.unwrap();
    // A target that silently changes what it is given: the checksum must notice.
    let trigger = "CREATE TRIGGER rename_users AFTER INSERT ON users \
                   BEGIN UPDATE users SET display_name = 'someone else' WHERE id = NEW.id; END";
    inspect::execute_sql(&tampered, trigger, vec![]).await.unwrap();

    let out = copy_db(&app, &sqlite_url(&target), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = String::from_utf8_lossy(&out.stdout);
    let users = summary.lines().find(|l| l.starts_with("users ")).unwrap_or_else(|| panic!("{summary}"));
    assert!(users.ends_with("MISMATCH"), "{users}");
    assert!(summary.lines().any(|l| l.starts_with("oauth_clients ") && l.ends_with("ok")), "{summary}");
    assert!(stderr(&out).contains("nothing was committed"), "{}", stderr(&out));
    assert_eq!(scalar(&tampered, "SELECT COUNT(*) FROM users").await, 0, "rolled back");
    assert_eq!(scalar(&tampered, "SELECT COUNT(*) FROM signing_keys").await, 0, "every table rolled back");
}
