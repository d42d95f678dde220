//! `portcullis user import`: accounts from other systems sign in with their old passwords,
//! and their hashes become our argon2id at that sign-in. Fixture hashes are made here by the
//! real libraries: Werkzeug and passlib (Python), Python's hashlib for Django's encoder (its
//! exact algorithm: PBKDF2-HMAC-SHA256, standard base64), the bcrypt and argon2 crates.

use std::process::Command;

use argon2::PasswordHasher as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::portcullis;
use crate::helpers::totp::code_at;
use crate::helpers::{TestApp, db_test, spawn_app};

const OLD_PASSWORD: &str = "an old passphrase from elsewhere";

/// Python prints one hash per line: Werkzeug pbkdf2, Werkzeug scrypt, passlib, Django.
const PYTHON: &str = r#"
import sys, hashlib, base64
from werkzeug.security import generate_password_hash
from passlib.hash import pbkdf2_sha256
pw = sys.argv[1]
print(generate_password_hash(pw, method="pbkdf2:sha256:1000"))
print(generate_password_hash(pw, method="scrypt:1024:8:1"))
print(pbkdf2_sha256.using(rounds=1000).hash(pw))
salt = "dJangoSalt123"
digest = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), 1000)
print("pbkdf2_sha256$1000$%s$%s" % (salt, base64.b64encode(digest).decode()))
"#;

/// (format name, hash of [`OLD_PASSWORD`]) for every supported format.
fn fixture_hashes() -> Vec<(&'static str, String)> {
    let present = |module: &str| Command::new("python3").args(["-c", &format!("import {module}")]).status();
    for module in ["werkzeug", "passlib"] {
        if !present(module).is_ok_and(|s| s.success()) {
            let pip = Command::new("python3").args(["-m", "pip", "install", "--quiet", module]).status();
            assert!(pip.is_ok_and(|s| s.success()), "the fixtures need Python's {module} (pip install {module})");
        }
    }
    let out = Command::new("python3").args(["-c", PYTHON, OLD_PASSWORD]).output().expect("python3 runs");
    assert!(out.status.success(), "python3 (werkzeug, passlib): {}", String::from_utf8_lossy(&out.stderr));
    let python = String::from_utf8(out.stdout).unwrap();
    let mut hashes: Vec<(&str, String)> = ["werkzeug-pbkdf2", "werkzeug-scrypt", "passlib-pbkdf2", "django-pbkdf2"]
        .into_iter()
        .zip(python.lines().map(str::to_string))
        .collect();
    assert_eq!(hashes.len(), 4, "{python}");
    let bcrypt = bcrypt::hash_with_result(OLD_PASSWORD, 4).unwrap();
    hashes.push(("bcrypt-2b", bcrypt.format_for_version(bcrypt::Version::TwoB)));
    hashes.push(("bcrypt-2y", bcrypt.format_for_version(bcrypt::Version::TwoY)));
    let params = argon2::Params::new(8_192, 2, 1, None).unwrap();
    for (name, alg) in [("argon2i", argon2::Algorithm::Argon2i), ("argon2id-cheap", argon2::Algorithm::Argon2id)] {
        let hash =
            argon2::Argon2::new(alg, argon2::Version::V0x13, params.clone()).hash_password(OLD_PASSWORD.as_bytes());
        hashes.push((name, hash.unwrap().to_string()));
    }
    hashes
}

fn line(username: &str, hash: &str) -> String {
    json!({"username": username, "email": format!("{username}@example.com"), "email_verified": true,
           "display_name": username, "password_hash": hash})
    .to_string()
}

async fn login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": password});
    let res = reqwest::Client::new().post(app.url("/login")).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    let rows = portcullis::store::inspect::strings(
        &app.state.db,
        "SELECT password_hash FROM users WHERE username = $1",
        vec![username.into()],
    )
    .await
    .unwrap();
    rows.into_iter().next().flatten().expect("the user exists")
}

fn write(app: &TestApp, name: &str, text: &str) -> String {
    let path = app.data_dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

db_test!(
    async fn every_imported_format_signs_in_with_its_old_password_and_becomes_argon2id(backend) {
        let app = spawn_app(backend).await;
        let hashes = fixture_hashes();
        let file: Vec<String> = hashes.iter().map(|(name, hash)| line(&name.replace('-', "_"), hash)).collect();
        let path = write(&app, "users.jsonl", &(file.join("\n") + "\n"));
        let out = portcullis(&app, &["user", "import", &path], "");
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("{} created", hashes.len())), "{}", text(&out.stdout));
        let events = app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'user.created' AND actor = 'cli' AND detail LIKE '%\"by\":\"import\"%'").await;
        assert_eq!(events, hashes.len() as i64, "one user.created by the CLI per account");

        for (name, hash) in &hashes {
            let username = name.replace('-', "_");
            let (status, _) = login(&app, &username, "not the old passphrase").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: a wrong password");
            assert_eq!(&stored_hash(&app, &username).await, hash, "{name}: a failed sign-in leaves the hash");

            let (status, body) = login(&app, &username, OLD_PASSWORD).await;
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            assert!(body["access_token"].is_string(), "{name}: {body}");
            let upgraded = stored_hash(&app, &username).await;
            assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{name}: {upgraded}");
            assert_eq!(login(&app, &username, OLD_PASSWORD).await.0, StatusCode::OK, "{name}: and again after the upgrade");
        }
    }
);

db_test!(
    async fn a_bad_line_is_skipped_with_its_number_strict_imports_nothing_and_a_rerun_changes_nothing(backend) {
        let app = spawn_app(backend).await;
        let bcrypt = bcrypt::hash(OLD_PASSWORD, 4).unwrap();
        let csv = format!(
            "username,email,email_verified,display_name,password_hash,totp_secret\n\
             ann,ann@example.com,true,\"Ann, the first\",{bcrypt},\n\
             bea,bea@example.com,true,Bea,md5$0a1b2c$0123456789abcdef,\n\
             cat,cat@example.com,false,Cat,{bcrypt},\n"
        );
        let path = write(&app, "people.csv", &csv);

        let strict = portcullis(&app, &["user", "import", "--strict", &path], "");
        assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
        assert!(text(&strict.stderr).contains("line 3: password_hash: unknown password hash format"), "{}", text(&strict.stderr));
        assert_eq!(app.count("users").await, 0, "--strict: nothing imported");

        let out = portcullis(&app, &["user", "import", "--progress-every", "1", &path], "");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "a skipped line is a failure exit: {stderr}");
        assert!(stderr.contains("line 3: password_hash: unknown password hash format; skipped"), "{stderr}");
        assert!(stderr.contains("progress: 3 lines read"), "{stderr}");
        assert!(text(&out.stdout).contains("2 created, 0 updated, 0 unchanged, 1 skipped"), "{}", text(&out.stdout));
        assert_eq!(app.count("users").await, 2, "the good lines were imported");
        let display = app.scalar("SELECT COUNT(*) FROM users WHERE display_name = 'Ann, the first'").await;
        assert_eq!(display, 1, "a quoted CSV cell keeps its comma");

        let before = app.snapshot().await;
        let good = write(&app, "good.txt", &csv.replace("bea,bea@example.com,true,Bea,md5$0a1b2c$0123456789abcdef,\n", ""));
        let again = portcullis(&app, &["user", "import", "--format", "csv", &good], "");
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert!(text(&again.stdout).contains("0 created, 0 updated, 2 unchanged"), "{}", text(&again.stdout));
        assert_eq!(app.snapshot().await, before, "a re-run changes nothing");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'user.created'").await, 2);
        assert_eq!(login(&app, "ann", OLD_PASSWORD).await.0, StatusCode::OK);

        let newer = bcrypt::hash("a newer passphrase", 4).unwrap();
        let update = write(&app, "update.jsonl", &format!("{}\n", line("ann", &newer)));
        let out = portcullis(&app, &["user", "import", "--update", &update], "");
        assert!(text(&out.stdout).contains("0 created, 1 updated"), "{} {}", text(&out.stdout), text(&out.stderr));
        assert_eq!(stored_hash(&app, "ann").await, newer, "--update replaces the hash");
        assert_eq!(login(&app, "ann", "a newer passphrase").await.0, StatusCode::OK);
    }
);

db_test!(
    async fn an_imported_totp_secret_is_required_at_sign_in(backend) {
        let app = spawn_app(backend).await;
        let secret = b"imported-secret-2026";
        let base32 = "NFWXA33SORSWILLTMVRXEZLUFUZDAMRW";
        assert_eq!(crate::helpers::totp::base32_decode(base32), secret);
        let hash = bcrypt::hash(OLD_PASSWORD, 4).unwrap();
        let record = json!({"username": "dora", "email": "dora@example.com", "email_verified": true,
                            "password_hash": hash, "totp_secret": base32});
        let path = write(&app, "mfa.jsonl", &format!("{record}\n"));
        let out = portcullis(&app, &["user", "import", &path], "");
        assert!(out.status.success(), "{}", text(&out.stderr));

        let (status, first) = login(&app, "dora", OLD_PASSWORD).await;
        assert_eq!((status, first["mfa_required"].as_bool()), (StatusCode::OK, Some(true)), "{first}");
        assert!(first.get("access_token").is_none(), "no token before the second factor");
        let ticket = first["mfa_token"].as_str().unwrap();
        let body = json!({"mfa_token": ticket, "code": code_at(secret, app.now())});
        let res = reqwest::Client::new().post(app.url("/login/mfa")).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the imported secret's code completes it");
    }
);
