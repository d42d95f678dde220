//! Configuration as code: `portcullis apply FILE [--dry-run] [--prune]`, `serve --apply` and
//! `export-config`, run as real processes against the test app's database. The printed plan
//! is asserted line by line; the database and the audit log are checked after each run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::helpers::{TestApp, db_test, spawn_app};

const WEB_SECRET: &str = "web-secret-from-the-environment-0123456789";
const API_SECRET: &str = "api-secret-from-a-mounted-file-0123456789";

/// `portcullis ARGS` against the app's database, with `env` added to its environment.
fn command(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args)
        .env_clear()
        .env("PORTCULLIS_DATA_DIR", app.data_dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("PORTCULLIS_LOG", "warn")
        .envs(env.iter().copied())
        .current_dir(app.data_dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(app, args, env).output().expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `apply` with the web client's secret in the environment; must succeed; its plan.
fn apply(app: &TestApp, file: &Path, flags: &[&str]) -> String {
    let mut args = vec!["apply", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    let out = run(app, &args, &[("WEB_SECRET", WEB_SECRET)]);
    assert!(out.status.success(), "apply {flags:?}: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out)
}

fn write(app: &TestApp, name: &str, text: &str) -> PathBuf {
    let path = app.data_dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A confidential web client (secret from the environment) and a public SPA.
fn two_clients(web_redirect: &str, web_scopes: &str) -> String {
    format!(
        r#"
[[clients]]
id = "web"
name = "The web app"
redirect_uris = ["{web_redirect}"]
scopes = [{web_scopes}]
secret = {{ env = "WEB_SECRET" }}

[[clients]]
id = "spa"
public = true
first_party = true
redirect_uris = ["https://spa.example/cb"]
post_logout_redirect_uris = ["https://spa.example/"]
"#
    )
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!("audit_events WHERE kind = '{kind}' AND actor = 'config'")).await
}

async fn client_ids(app: &TestApp) -> Vec<String> {
    let rows = portcullis::store::inspect::strings(
        &app.state.db,
        "SELECT id FROM oauth_clients WHERE id <> 'portcullis-api' ORDER BY id",
        vec![],
    )
    .await
    .unwrap();
    rows.into_iter().flatten().collect()
}

db_test!(
    async fn apply_creates_then_updates_then_leaves_unchanged_and_prints_each_plan(backend) {
        let app = spawn_app(backend).await;
        let file = write(&app, "clients.toml", &two_clients("https://web.example/cb", r#""openid", "profile""#));

        let first = apply(&app, &file, &[]);
        assert_eq!(
            first.lines().collect::<Vec<_>>(),
            ["+ create client web", "+ create client spa", "Applied: 2 created, 0 updated, 0 deleted, 0 unchanged, 0 drifted"],
            "{first}"
        );
        assert_eq!(client_ids(&app).await, ["spa", "web"]);
        assert_eq!(events(&app, "client.created").await, 2, "one event per client, by the actor config");
        assert_eq!(events(&app, "config.applied").await, 1);
        let managed = app.count("oauth_clients WHERE managed_by = 'config'").await;
        assert_eq!(managed, 2, "both are recorded as managed by configuration");

        let again = apply(&app, &file, &[]);
        assert_eq!(
            again.lines().collect::<Vec<_>>(),
            ["= unchanged client web", "= unchanged client spa", "Applied: 0 created, 0 updated, 0 deleted, 2 unchanged, 0 drifted"],
            "{again}"
        );
        assert_eq!(events(&app, "config.applied").await, 1, "a no-op records no apply event");

        let file = write(&app, "clients.toml", &two_clients("https://web.example/callback", r#""openid""#));
        let changed = apply(&app, &file, &[]);
        assert_eq!(
            changed.lines().collect::<Vec<_>>(),
            ["~ update client web (redirect_uris, scopes)", "= unchanged client spa", "Applied: 0 created, 1 updated, 0 deleted, 1 unchanged, 0 drifted"],
            "{changed}"
        );
        let stored = app.scalar("SELECT COUNT(*) FROM oauth_clients WHERE id = 'web' AND redirect_uris = '[\"https://web.example/callback\"]' AND scopes = '[\"openid\"]'").await;
        assert_eq!(stored, 1, "the new settings are stored");
        let detail = portcullis::store::inspect::strings(
            &app.state.db,
            "SELECT detail FROM audit_events WHERE kind = 'client.changed' AND actor = 'config'",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(detail.len(), 1);
        assert!(detail[0].as_deref().unwrap().contains("redirect_uris"), "{detail:?}");
        assert_eq!(events(&app, "client.secret_rotated").await, 0, "the secret did not change");
    }
);

db_test!(
    async fn a_client_the_file_does_not_name_is_drift_and_only_prune_deletes_it(backend) {
        let app = spawn_app(backend).await;
        let added = run(&app, &["client", "add", "--id", "legacy", "--redirect-uri", "https://legacy.example/cb"], &[]);
        assert!(added.status.success());
        let file = write(&app, "clients.toml", &two_clients("https://web.example/cb", r#""openid""#));
        let name = file.display().to_string();

        let plan = apply(&app, &file, &[]);
        assert!(
            plan.contains(&format!("! drift client legacy (not in {name}; created by console/CLI; --prune deletes)\n")),
            "{plan}"
        );
        assert!(plan.ends_with("Applied: 2 created, 0 updated, 0 deleted, 0 unchanged, 1 drifted\n"), "{plan}");
        assert_eq!(client_ids(&app).await, ["legacy", "spa", "web"], "drift is not deleted");

        let pruned = apply(&app, &file, &["--prune"]);
        assert_eq!(
            pruned.lines().collect::<Vec<_>>(),
            [
                "= unchanged client web".to_string(),
                "= unchanged client spa".to_string(),
                format!("- delete client legacy (not in {name}; created by console/CLI)"),
                "Applied: 0 created, 0 updated, 1 deleted, 2 unchanged, 0 drifted".to_string(),
            ],
            "{pruned}"
        );
        assert_eq!(client_ids(&app).await, ["spa", "web"]);
        assert_eq!(events(&app, "client.deleted").await, 1);

        // A client applied before and then removed from the file is drift too, named as such.
        let only_web = write(&app, "web.toml", &two_clients("https://web.example/cb", r#""openid""#).replace("id = \"spa\"", "id = \"spa2\""));
        let plan = apply(&app, &only_web, &[]);
        let web_name = only_web.display().to_string();
        assert!(
            plan.contains(&format!("! drift client spa (not in {web_name}; applied from a configuration file before; --prune deletes)")),
            "{plan}"
        );
    }
);

db_test!(
    async fn dry_run_prints_the_plan_and_changes_nothing(backend) {
        let app = spawn_app(backend).await;
        assert!(run(&app, &["client", "add", "--id", "legacy", "--public", "--redirect-uri", "https://l.example/cb"], &[]).status.success());
        let file = write(&app, "clients.toml", &two_clients("https://web.example/cb", r#""openid""#));
        let name = file.display().to_string();
        let audit_before = app.count("audit_events").await;

        let dry = apply(&app, &file, &["--dry-run"]);
        assert_eq!(
            dry.lines().collect::<Vec<_>>(),
            [
                "+ create client web".to_string(),
                "+ create client spa".to_string(),
                format!("! drift client legacy (not in {name}; created by console/CLI; --prune deletes)"),
                "Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged, 1 drifted (dry run: nothing changed)".to_string(),
            ],
            "{dry}"
        );
        let dry_prune = apply(&app, &file, &["--dry-run", "--prune"]);
        assert!(dry_prune.contains(&format!("- delete client legacy (not in {name}; created by console/CLI)\n")), "{dry_prune}");
        assert!(dry_prune.ends_with("Plan: 2 to create, 0 to update, 1 to delete, 0 unchanged, 0 drifted (dry run: nothing changed)\n"), "{dry_prune}");

        assert_eq!(client_ids(&app).await, ["legacy"], "nothing created or deleted");
        assert_eq!(app.count("audit_events").await, audit_before, "no event written");
        assert_eq!(app.count("config_state").await, 0, "no apply recorded");
    }
);

db_test!(
    async fn an_invalid_file_is_refused_naming_the_file_and_the_client_and_writes_nothing(backend) {
        let app = spawn_app(backend).await;
        let web = |extra: &str| format!("[[clients]]\nid = \"web\"\nredirect_uris = [\"https://web.example/cb\"]\n{extra}\n");
        let env_secret = "secret = { env = \"WEB_SECRET\" }";
        let cases: Vec<(&str, String, &str)> = vec![
            ("inline secret", web("secret = \"an-inline-secret-that-is-long-enough-0123\""), "client \"web\": secret: an inline secret is refused"),
            ("javascript redirect", format!("[[clients]]\nid = \"web\"\nredirect_uris = [\"javascript:alert(1)\"]\n{env_secret}\n"), "client \"web\": redirect_uris:"),
            ("misspelt key", web(&format!("{env_secret}\nredirect_uri = \"https://x.example/cb\"")), "client \"web\": unknown field `redirect_uri`"),
            ("unknown grant", web(&format!("{env_secret}\ngrant_types = [\"password\"]")), "client \"web\": grant_types: unknown grant type"),
            ("unset variable", web("secret = { env = \"NOT_SET_ANYWHERE\" }"), "client \"web\": secret: environment variable NOT_SET_ANYWHERE is not set"),
            ("short secret", web("secret = { env = \"SHORT_SECRET\" }"), "at least 32"),
            ("missing secret file", web("secret = { file = \"no-such-file\" }"), "client \"web\": secret: reading"),
            ("no secret", web(""), "client \"web\": secret: a confidential client needs"),
            ("public with secret", web(&format!("public = true\n{env_secret}")), "a public client has no secret"),
            ("admin scope without api access", web(&format!("{env_secret}\nscopes = [\"openid\", \"admin\"]")), "scopes: admin needs api_access = true"),
            ("declared twice", format!("{}{}", web(env_secret), web(env_secret)), "client \"web\": declared twice"),
            ("no id", "[[clients]]\npublic = true\n".to_string(), "[[clients]] #1: missing field `id`"),
            ("not TOML", "[[clients]\nid = 1".to_string(), "not valid TOML"),
            ("built-in client", "[[clients]]\nid = \"portcullis-api\"\npublic = true\n".to_string(), "client \"portcullis-api\": id: reserved"),
            ("unknown kind", "[[resources]]\nid = \"api\"\n".to_string(), "unknown key `resources`"),
        ];
        for (case, text, expected) in cases {
            let file = write(&app, "bad.toml", &text);
            let out = run(&app, &["apply", file.to_str().unwrap()], &[("WEB_SECRET", WEB_SECRET), ("SHORT_SECRET", "tooshort")]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{case}: exit code ({stderr})");
            assert!(stderr.starts_with(&format!("error: {}: ", file.display())), "{case}: names the file: {stderr}");
            assert!(stderr.contains(expected), "{case}: {stderr}");
            assert!(!stderr.contains(WEB_SECRET), "{case}: never prints a secret");
            assert!(stdout(&out).is_empty(), "{case}: no plan");
        }
        assert_eq!(client_ids(&app).await, Vec::<String>::new(), "nothing was created");
        assert_eq!(app.count("config_state").await, 0);

        // Turning a stored confidential client public is no update: refused, nothing changes.
        let file = write(&app, "clients.toml", &two_clients("https://web.example/cb", r#""openid""#));
        apply(&app, &file, &[]);
        let flipped = write(&app, "clients.toml", "[[clients]]\nid = \"web\"\npublic = true\nredirect_uris = [\"https://web.example/cb\"]\n");
        let out = run(&app, &["apply", flipped.to_str().unwrap()], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("client \"web\": public: a stored client cannot change between public and confidential"), "{stderr}");
        assert_eq!(app.count("oauth_clients WHERE is_public = false AND id = 'web'").await, 1);
    }
);

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> u16 {
    let res = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

db_test!(
    async fn secrets_from_the_environment_and_from_a_file_work_at_the_token_endpoint_and_a_new_one_is_an_update(backend) {
        let app = spawn_app(backend).await;
        let secret_file = write(&app, "api.secret", &format!("{API_SECRET}\n"));
        let text = |secret_file: &Path| {
            format!(
                r#"
[[clients]]
id = "web"
grant_types = ["client_credentials"]
scopes = ["openid"]
secret = {{ env = "WEB_SECRET" }}

[[clients]]
id = "api"
grant_types = ["client_credentials"]
scopes = ["openid"]
secret = {{ file = "{}" }}
"#,
                secret_file.display()
            )
        };
        let file = write(&app, "clients.toml", &text(&secret_file));
        apply(&app, &file, &[]);
        assert_eq!(client_credentials(&app, "web", WEB_SECRET).await, 200, "secret from the environment");
        assert_eq!(client_credentials(&app, "api", API_SECRET).await, 200, "secret from a file");
        assert_eq!(client_credentials(&app, "api", WEB_SECRET).await, 401, "each client its own secret");
        let raw = app.count(&format!("oauth_clients WHERE secret_hash = '{API_SECRET}'")).await;
        assert_eq!(raw, 0, "stored hashed");

        let rotated = "api-secret-rotated-in-the-mounted-file-987654";
        std::fs::write(&secret_file, rotated).unwrap();
        let plan = apply(&app, &file, &[]);
        assert_eq!(
            plan.lines().collect::<Vec<_>>(),
            ["= unchanged client web", "~ update client api (secret)", "Applied: 0 created, 1 updated, 0 deleted, 1 unchanged, 0 drifted"],
            "{plan}"
        );
        assert_eq!(events(&app, "client.secret_rotated").await, 1);
        assert_eq!(events(&app, "client.changed").await, 0, "only the secret changed");
        // This node read the client a moment ago; its cache trusts that for 5 s.
        app.clock.advance(time::Duration::seconds(6));
        assert_eq!(client_credentials(&app, "api", API_SECRET).await, 401, "the old secret stops working");
        assert_eq!(client_credentials(&app, "api", rotated).await, 200, "the new one works");
    }
);

db_test!(
    async fn export_config_round_trips_through_apply_as_a_no_op(backend) {
        let app = spawn_app(backend).await;
        let file = write(
            &app,
            "clients.toml",
            &format!(
                "{}\n[[clients]]\nid = \"resource-server\"\nname = \"Orders API\"\ngrant_types = [\"client_credentials\"]\n\
                 scopes = [\"openid\"]\naudiences = [\"https://orders.example\"]\nintrospect_any = true\nrequire_mfa = true\n\
                 secret = {{ env = \"WEB_SECRET\" }}\n",
                two_clients("https://web.example/cb", r#""openid", "email", "offline_access""#)
            ),
        );
        apply(&app, &file, &[]);

        let out = run(&app, &["export-config", "--to", "exported.toml"], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let exported = std::fs::read_to_string(app.data_dir.path().join("exported.toml")).unwrap();
        assert!(exported.contains("secret = { env = \"PORTCULLIS_CLIENT_WEB_SECRET\" }"), "{exported}");
        assert!(exported.contains("secret = { env = \"PORTCULLIS_CLIENT_RESOURCE_SERVER_SECRET\" }"), "{exported}");
        let hashes = portcullis::store::inspect::strings(&app.state.db, "SELECT secret_hash FROM oauth_clients WHERE secret_hash IS NOT NULL", vec![]).await.unwrap();
        for hash in hashes.into_iter().flatten() {
            assert!(!exported.contains(&hash), "never the hash");
        }
        let stdout_export = stdout(&run(&app, &["export-config"], &[]));
        assert_eq!(stdout_export, exported, "standard output and --to write the same");

        let secrets = [("PORTCULLIS_CLIENT_WEB_SECRET", WEB_SECRET), ("PORTCULLIS_CLIENT_RESOURCE_SERVER_SECRET", WEB_SECRET)];
        let path = app.data_dir.path().join("exported.toml");
        let out = run(&app, &["apply", path.to_str().unwrap()], &secrets);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            stdout(&out).lines().collect::<Vec<_>>(),
            [
                "= unchanged client resource-server",
                "= unchanged client spa",
                "= unchanged client web",
                "Applied: 0 created, 0 updated, 0 deleted, 3 unchanged, 0 drifted"
            ],
        );

        // A client made with the CLI, exported and applied, is taken over by the file once.
        let added = run(&app, &["client", "add", "--id", "legacy", "--public", "--redirect-uri", "https://l.example/cb"], &[]);
        assert!(added.status.success());
        assert!(run(&app, &["export-config", "--to", "exported.toml"], &[]).status.success());
        let adopt = stdout(&run(&app, &["apply", path.to_str().unwrap()], &secrets));
        assert!(adopt.contains("~ update client legacy (managed)\n"), "{adopt}");
        let again = stdout(&run(&app, &["apply", path.to_str().unwrap()], &secrets));
        assert!(again.ends_with("Applied: 0 created, 0 updated, 0 deleted, 4 unchanged, 0 drifted\n"), "{again}");
    }
);

/// A file of `n` clients, each with its own redirect URI.
fn many_clients(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[clients]]\nid = \"app-{i:02}\"\npublic = true\nredirect_uris = [\"https://app{i}.example/cb\"]\n"
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

db_test!(
    async fn several_nodes_applying_the_same_file_at_once_create_each_client_once_without_error(backend) {
        let app = spawn_app(backend).await;
        let file = write(&app, "clients.toml", &many_clients(20));
        let path = file.to_str().unwrap();
        let children: Vec<Child> = (0..3).map(|_| command(&app, &["apply", path], &[]).spawn().unwrap()).collect();
        let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let mut created = 0;
        for out in &outputs {
            assert!(out.status.success(), "every node succeeds: {}", String::from_utf8_lossy(&out.stderr));
            let plan = stdout(out);
            created += plan.lines().filter(|l| l.starts_with("+ create client")).count();
            let all_new = plan.ends_with("Applied: 20 created, 0 updated, 0 deleted, 0 unchanged, 0 drifted\n");
            let all_done = plan.ends_with("Applied: 0 created, 0 updated, 0 deleted, 20 unchanged, 0 drifted\n");
            assert!(all_new || all_done, "one node applies it all, the others find it done: {plan}");
        }
        assert_eq!(created, 20, "each client created exactly once");
        assert_eq!(client_ids(&app).await.len(), 20);
        assert_eq!(events(&app, "client.created").await, 20);
        assert_eq!(events(&app, "config.applied").await, 1);
    }
);

/// Starts `serve --apply FILE` on a free port; its standard output up to the plan's summary.
fn serve_with_apply(app: &TestApp, file: &Path) -> (Child, String) {
    let mut child = command(app, &["serve", "--apply", file.to_str().unwrap()], &[("PORTCULLIS_BIND", "127.0.0.1:0")])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut plan = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        plan.push_str(&line);
        plan.push('\n');
        if line.starts_with("Applied:") {
            break;
        }
    }
    (child, plan)
}

db_test!(
    async fn two_servers_starting_with_the_same_file_apply_it_once(backend) {
        let app = spawn_app(backend).await;
        let file = write(&app, "clients.toml", &many_clients(10));
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| serve_with_apply(&app, &file));
            let b = s.spawn(|| serve_with_apply(&app, &file));
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut servers = [a.0, b.0];
        for server in &mut servers {
            assert_eq!(server.try_wait().unwrap(), None, "the server keeps running after applying");
            server.kill().unwrap();
            server.wait().unwrap();
        }
        let mut summaries = [a.1, b.1].map(|plan| plan.lines().last().unwrap_or_default().to_string());
        summaries.sort();
        assert_eq!(
            summaries,
            [
                "Applied: 0 created, 0 updated, 0 deleted, 10 unchanged, 0 drifted",
                "Applied: 10 created, 0 updated, 0 deleted, 0 unchanged, 0 drifted"
            ]
        );
        assert_eq!(client_ids(&app).await.len(), 10);

        let bad = write(&app, "bad.toml", "[[clients]]\nid = \"x\"\nredirect_uris = [\"http://evil.example/cb\"]\npublic = true\n");
        let out = command(&app, &["serve", "--apply", bad.to_str().unwrap()], &[("PORTCULLIS_BIND", "127.0.0.1:0")]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "an invalid file stops the start");
        assert!(String::from_utf8_lossy(&out.stderr).contains("client \"x\": redirect_uris"));
    }
);
