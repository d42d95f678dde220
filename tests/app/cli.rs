//! The `portcullis` command line, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::helpers::{PASSWORD, TestApp, db_test, location, spawn_app};

pub fn portcullis(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_clear()
        .env("PORTCULLIS_DATA_DIR", app.data_dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("PORTCULLIS_LOG", "warn")
        .current_dir(app.data_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

db_test!(
    async fn user_add_creates_a_user_who_can_log_in_through_the_page(backend) {
        let app = spawn_app(backend).await;
        let out = portcullis(&app, &["user", "add", "--username", "Bob", "--email", "bob@example.com", "--verified"], &format!("{PASSWORD}\n"));
        assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("created user bob"));

        let res = app.browser().login("bob", PASSWORD).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, "/profile".to_string()));

        let list = portcullis(&app, &["user", "list"], "");
        let stdout = String::from_utf8_lossy(&list.stdout);
        assert!(list.status.success() && stdout.contains("bob@example.com"), "{stdout}");
    }
);

db_test!(
    async fn user_add_refuses_bad_input_loudly_and_creates_nothing(backend) {
        let app = spawn_app(backend).await;
        let cases: [(&str, &[&str], &str, &str); 5] = [
            ("common password", &["user", "add", "--username", "bob", "--email", "bob@example.com"], "password123\n", "common"),
            ("short password", &["user", "add", "--username", "bob", "--email", "bob@example.com"], "short\n", "at least 8"),
            ("no password", &["user", "add", "--username", "bob", "--email", "bob@example.com"], "", "no password"),
            ("bad e-mail", &["user", "add", "--username", "bob", "--email", "bob"], "a fine passphrase\n", "--email"),
            ("bad username", &["user", "add", "--username", "b", "--email", "b@example.com"], "a fine passphrase\n", "--username"),
        ];
        for (case, args, stdin, expected) in cases {
            let out = portcullis(&app, args, stdin);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{case}: exit code ({stderr})");
            assert!(stderr.contains("error:") && stderr.contains(expected), "{case}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "{case}: one line");
        }
        assert_eq!(app.count("users").await, 0, "nothing was created");

        let dup = portcullis(&app, &["user", "add", "--username", "bob", "--email", "bob@example.com"], "a fine passphrase\n");
        assert!(dup.status.success());
        let again = portcullis(&app, &["user", "add", "--username", "bob", "--email", "other@example.com"], "a fine passphrase\n");
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));

        let usage = portcullis(&app, &["user", "add", "--email", "x@example.com"], "");
        assert_eq!(usage.status.code(), Some(2), "clap's usage error");
        assert_eq!(app.count("users").await, 1);
    }
);

#[test]
fn an_unknown_key_in_a_config_file_stops_the_server_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portcullis.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:0\"\n[session]\nidle_timout_secs = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("idle_timout_secs"), "{stderr}");
}

db_test!(
    async fn client_add_refuses_dangerous_redirect_uris_and_prints_a_secret_once(backend) {
        let app = spawn_app(backend).await;
        for uri in ["javascript:alert(1)", "data:text/html,x", "http://app.example/cb", "https://app.example/cb#x"] {
            let out = portcullis(&app, &["client", "add", "--id", "bad", "--redirect-uri", uri], "");
            assert_eq!(out.status.code(), Some(1), "{uri}");
            assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"), "{uri}");
        }
        let out = portcullis(&app, &["client", "add", "--id", "good", "--redirect-uri", "https://app.example/cb"], "");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains("client_secret: "), "{stdout}");
        let secret = stdout.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap();
        let stored = app.scalar("SELECT COUNT(*) FROM oauth_clients WHERE secret_hash IS NOT NULL").await;
        assert_eq!(stored, 1);
        let raw: i64 = app.scalar(&format!("SELECT COUNT(*) FROM oauth_clients WHERE secret_hash = '{secret}'")).await;
        assert_eq!(raw, 0, "the secret is stored hashed");
        let list = portcullis(&app, &["client", "list"], "");
        assert!(String::from_utf8_lossy(&list.stdout).contains("good  confidential"));
        assert!(portcullis(&app, &["client", "remove", "--id", "good"], "").status.success());
        assert_eq!(portcullis(&app, &["client", "remove", "--id", "good"], "").status.code(), Some(1));
    }
);
