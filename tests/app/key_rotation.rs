//! Scheduled key rotation: a key is published before it signs, retires when its successor
//! activates, keeps verifying until every token it signed has expired, and is then removed;
//! nodes sharing a database rotate once per due time; `keys list` shows each key's life.

use std::collections::BTreeSet;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{ClaimsVerificationError, ClientId, ClientSecret, IssuerUrl, Nonce, SignatureVerificationError};
use portcullis::clock::Clock;
use portcullis::oauth::key_rotation::{KeyState, RotationPolicy};
use portcullis::oauth::keys::VerifyError;
use portcullis::startup::rotate_signing_keys;
use portcullis::store::{Db, inspect};
use sea_orm::ConnectionTrait;
use time::Duration;

use crate::helpers::oidc::{Consent, TestClient, authorize_path, drive, param, pkce, rp_http};
use crate::helpers::{Browser, PASSWORD, SECRET_KEY, TestApp, db_test, spawn_app, spawn_app_with};

/// The nonce `authorize_path` sends.
const NONCE: &str = "nonce-456";

async fn jwks_kids(app: &TestApp) -> BTreeSet<String> {
    let jwks: serde_json::Value = reqwest::get(app.url("/jwks.json")).await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

fn kid_of(token: &str) -> String {
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

/// The kids of the stored keys in `state`.
async fn kids_in(app: &TestApp, state: KeyState) -> BTreeSet<String> {
    let statuses = app.state.provider.keys().statuses().await.unwrap();
    statuses.into_iter().filter(|k| k.state == state).map(|k| k.kid).collect()
}

struct Tokens {
    id: String,
    access: String,
}

/// A fresh code flow: the ID token and access token the server signs now.
async fn sign_in(app: &TestApp, browser: &Browser, client: &TestClient) -> Tokens {
    let (verifier, challenge) = pkce();
    let back = drive(browser, &authorize_path(&client.id, &challenge, &[]), ("alice", PASSWORD), Consent::Allow).await;
    let code = param(&back, "code").unwrap_or_else(|| panic!("a code: {back}"));
    let (status, body) = app.exchange(client, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    Tokens { id: body["id_token"].as_str().unwrap().into(), access: body["access_token"].as_str().unwrap().into() }
}

/// The `openidconnect` crate, with a JWKS fetched now, verifies `id_token` (signature, iss,
/// aud, nonce). Its clock is pinned to the token's own `iat`, so the signing key alone
/// decides: a token it refuses is refused for its key, not for its age.
async fn relying_party_verifies(
    app: &TestApp,
    client: &TestClient,
    id_token: &str,
) -> Result<(), ClaimsVerificationError> {
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http).await.unwrap();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    );
    let token: CoreIdToken = id_token.parse().unwrap();
    let nonce = Nonce::new(NONCE.into());
    let unverified = rp.id_token_verifier().insecure_disable_signature_check();
    let issued = token.claims(&unverified, &nonce).unwrap().issue_time();
    token.claims(&rp.id_token_verifier().set_time_fn(move || issued), &nonce).map(|_| ())
}

/// Our own check of an access token's signature and header (claims and expiry aside).
async fn server_verifies_access_token(app: &TestApp, token: &str) -> Result<(), VerifyError> {
    app.state.provider.keys().verify(token, "at+jwt").await.map(|_| ())
}

/// The database the nodes of a test share, opened the way a node opens it.
async fn shared_db(url: &str) -> Db {
    let settings = portcullis::config::DatabaseSettings {
        max_connections: 2,
        acquire_timeout_secs: 10,
        migrate_on_start: false,
        group_commit: false,
    };
    Db::connect(url, &settings).await.unwrap()
}

db_test!(
    async fn a_scheduled_rotation_walks_a_key_from_published_to_active_to_retired_to_removed(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let rp = app.web_client("rp").await;
        let browser = app.browser();
        let policy = RotationPolicy::from_settings(&app.state.settings);
        assert_eq!((policy.every, policy.publish_delay, policy.keep_retired), (Some(90 * 86_400), 3600, 3900), "defaults");

        // Day 0: one active key per algorithm; nothing is due.
        rotate_signing_keys(&app.state).await;
        let old = jwks_kids(&app).await;
        assert_eq!(old.len(), 3, "one key per algorithm");
        assert_eq!(kids_in(&app, KeyState::Active).await, old);
        let day0 = sign_in(&app, &browser, &rp).await;
        assert!(old.contains(&kid_of(&day0.id)) && old.contains(&kid_of(&day0.access)));

        app.clock.advance(Duration::days(90) - Duration::seconds(1));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await, old, "not due a second before the 90 days");

        // Due: the new keys are published; the old ones still sign.
        app.clock.advance(Duration::seconds(1));
        rotate_signing_keys(&app.state).await;
        let all = jwks_kids(&app).await;
        let new: BTreeSet<String> = all.difference(&old).cloned().collect();
        assert_eq!((all.len(), new.len()), (6, 3), "one new key per algorithm, published beside the old");
        assert_eq!(kids_in(&app, KeyState::Published).await, new);
        assert_eq!(kids_in(&app, KeyState::Active).await, old);
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await.len(), 6, "a second housekeeping pass does not rotate again");
        app.clock.advance(Duration::seconds(policy.publish_delay - 60));
        let published = sign_in(&app, &browser, &rp).await;
        assert!(old.contains(&kid_of(&published.id)), "a published key signs no ID token");
        assert!(old.contains(&kid_of(&published.access)), "a published key signs no access token");
        for (stage, tokens) in [("day 0", &day0), ("published", &published)] {
            assert!(relying_party_verifies(&app, &rp, &tokens.id).await.is_ok(), "{stage}: ID token");
            assert!(server_verifies_access_token(&app, &tokens.access).await.is_ok(), "{stage}: access token");
        }

        // The delay is over: the new keys sign, the old ones are retired.
        app.clock.advance(Duration::seconds(60));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await, all, "retired keys stay in the JWKS");
        assert_eq!(kids_in(&app, KeyState::Active).await, new);
        assert_eq!(kids_in(&app, KeyState::Retired).await, old);
        let active = sign_in(&app, &browser, &rp).await;
        assert!(new.contains(&kid_of(&active.id)), "the new key signs ID tokens");
        assert!(new.contains(&kid_of(&active.access)), "the new key signs access tokens");
        assert_eq!(app.userinfo_status(&published.access).await, 200, "a live token of the retired key works");
        assert!(app.state.provider.verify_id_token_hint(&published.id).await.is_some(), "and its ID token is a hint");
        for (stage, tokens) in [("day 0", &day0), ("published", &published), ("active", &active)] {
            assert!(relying_party_verifies(&app, &rp, &tokens.id).await.is_ok(), "{stage}: ID token");
            assert!(server_verifies_access_token(&app, &tokens.access).await.is_ok(), "{stage}: access token");
        }

        // Retired until the last token it signed has expired (plus the margin), then removed.
        let removal = policy.keep_retired;
        assert!(removal > 3600 + 60, "the last ID token of the old key expires before its removal");
        app.clock.advance(Duration::seconds(removal - 1));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await, all, "a second before removal the retired keys are still published");
        assert!(relying_party_verifies(&app, &rp, &published.id).await.is_ok());
        app.clock.advance(Duration::seconds(1));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await, new, "removed keys leave the JWKS");
        assert_eq!(kids_in(&app, KeyState::Removed).await, old);
        let removed = sign_in(&app, &browser, &rp).await;
        assert!(new.contains(&kid_of(&removed.id)) && new.contains(&kid_of(&removed.access)));
        for (stage, tokens) in [("day 0", &day0), ("published", &published)] {
            let refused = relying_party_verifies(&app, &rp, &tokens.id).await;
            assert!(
                matches!(refused, Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))),
                "{stage}: the relying party finds no key for a token of a removed key: {refused:?}"
            );
            assert!(
                matches!(server_verifies_access_token(&app, &tokens.access).await, Err(VerifyError::UnknownKey)),
                "{stage}: our own check knows the key no more"
            );
            assert!(app.state.provider.verify_id_token_hint(&tokens.id).await.is_none(), "{stage}: no longer a hint");
        }
        for (stage, tokens) in [("active", &active), ("removed", &removed)] {
            assert!(relying_party_verifies(&app, &rp, &tokens.id).await.is_ok(), "{stage}: ID token");
            assert!(server_verifies_access_token(&app, &tokens.access).await.is_ok(), "{stage}: access token");
        }

        // The next rotation is 90 days after this one, not after the first key.
        app.clock.advance(Duration::days(90) - Duration::seconds(policy.publish_delay + removal + 1));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await, new, "not due yet");
        app.clock.advance(Duration::seconds(1));
        rotate_signing_keys(&app.state).await;
        assert_eq!(jwks_kids(&app).await.len(), 6, "due again");
    }
);

db_test!(
    async fn two_nodes_whose_housekeeping_finds_a_rotation_due_at_once_rotate_exactly_once(backend) {
        let a = spawn_app(backend).await;
        let (url, issuer) = (a.database_url.clone(), a.issuer.clone());
        let b = spawn_app_with(backend, |s| {
            s.database_url = portcullis::secret::Secret::new(url);
            s.issuer = issuer;
        })
        .await;
        assert_eq!(a.count("signing_keys").await, 3, "the second node uses the first node's keys");
        for round in 1..=3 {
            // Both clocks at the same moment, 90 days on.
            let target = a.clock.now().max(b.clock.now()) + Duration::days(90);
            a.clock.advance(target - a.clock.now());
            b.clock.advance(target - b.clock.now());
            tokio::join!(rotate_signing_keys(&a.state), rotate_signing_keys(&b.state));
            // Counted by creation time: each app's own housekeeping task also runs (and may be
            // the node that rotates, or purge a key removed by now), but one due time makes one
            // key per algorithm, whoever makes it.
            let since = target.unix_timestamp();
            for alg in ["RS256", "ES256", "EdDSA"] {
                let sql = format!("SELECT COUNT(*) FROM signing_keys WHERE alg = '{alg}' AND created_at >= {since}");
                assert_eq!(a.scalar(&sql).await, 1, "round {round}: one new {alg} key, not two");
            }
            assert_eq!(jwks_kids(&a).await, jwks_kids(&b).await, "round {round}: both nodes publish the same keys");
            assert_eq!(a.state.provider.keys().statuses().await.unwrap().iter().filter(|k| k.state == KeyState::Published).count(), 3);
        }
    }
);

fn keys_cli(app: &TestApp, args: &[&str]) -> String {
    let out = crate::cli::portcullis(app, args, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// RFC 3339 UTC to the second, as `keys list` prints it.
fn utc(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn stored_kids(app: &TestApp) -> BTreeSet<String> {
    app.state.provider.keys().statuses().await.unwrap().into_iter().map(|k| k.kid).collect()
}

db_test!(
    async fn keys_list_shows_every_key_with_its_state_and_the_times_of_its_life(backend) {
        let app = spawn_app(backend).await;
        // Four generations: removed, retired, active, published.
        let mut generations = vec![stored_kids(&app).await];
        for delay in ["0", "0", "3600"] {
            let before = stored_kids(&app).await;
            keys_cli(&app, &["keys", "rotate", "--delay", delay]);
            generations.push(stored_kids(&app).await.difference(&before).cloned().collect());
        }
        // The first keys' removal time, put in the past: removed, not purged yet.
        let first: Vec<String> = generations[0].iter().map(|k| format!("'{k}'")).collect();
        let sql = format!("UPDATE signing_keys SET expires_at = retires_at WHERE kid IN ({})", first.join(","));
        portcullis::store::inspect::execute_sql(&app.state.db, &sql, vec![]).await.unwrap();

        let out = keys_cli(&app, &["keys", "list"]);
        let lines: Vec<&str> = out.lines().collect();
        let header: Vec<&str> = lines[0].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(header, ["KID", "ALG", "STATE", "CREATED", "ACTIVATES AT", "RETIRES AT", "REMOVED AT"], "{out}");
        assert_eq!(lines.len(), 1 + 12 + 1, "a header, twelve keys, the schedule: {out}");
        for key in app.state.provider.keys().statuses().await.unwrap() {
            let line = lines.iter().find(|l| l.starts_with(&key.kid)).unwrap_or_else(|| panic!("{} listed: {out}", key.kid));
            let generation = generations.iter().position(|g| g.contains(&key.kid)).unwrap();
            let state = ["removed", "retired", "active", "published"][generation];
            let expected = [
                key.kid.clone(),
                key.alg.clone(),
                state.to_string(),
                utc(key.created_at),
                utc(key.activates_at),
                key.retires_at.map_or("-".into(), utc),
                key.removed_at.map_or("-".into(), utc),
            ];
            assert_eq!(line.split_whitespace().collect::<Vec<_>>(), expected, "generation {generation}: {out}");
            assert_eq!(key.retires_at.is_some(), generation < 3, "every key but the newest has a successor");
        }
        let rotated = app.scalar("SELECT rotated_at FROM key_schedule").await;
        assert_eq!(
            lines[13],
            format!("next scheduled rotation: {}", utc(rotated + 90 * 86_400)),
            "a rotation by hand resets the schedule"
        );
    }
);

/// What a server process's first housekeeping pass did about the key schedule.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    Rotated,
    NotDue,
}

/// A `portcullis serve` process on `database_url`, with the key-rotation logs on stderr.
struct Node(std::process::Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn node_command(database_url: &str, data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.env_clear()
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", SECRET_KEY)
        .env("PORTCULLIS_DATA_DIR", data)
        .env("PORTCULLIS_ISSUER", "http://portcullis.cluster.test")
        .env("PORTCULLIS_LOG", "warn,portcullis::startup=debug")
        .current_dir(data);
    cmd
}

/// Reads the node's log until its housekeeping has dealt with the schedule.
fn first_pass(node: &mut Node) -> Pass {
    use std::io::BufRead;
    let stderr = node.0.stderr.take().unwrap();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("scheduled rotation: key published") {
            return Pass::Rotated;
        }
        if line.contains("no key rotation due") {
            return Pass::NotDue;
        }
    }
    panic!("the node exited before its housekeeping ran");
}

db_test!(
    async fn two_server_processes_that_start_with_a_rotation_overdue_perform_it_once(backend) {
        let data = tempfile::tempdir().unwrap();
        let database_url = match backend {
            crate::helpers::Backend::Sqlite => format!("sqlite://{}?mode=rwc", data.path().join("shared.db").display()),
            crate::helpers::Backend::Postgres => crate::helpers::fresh_postgres_database().await,
        };
        let out = node_command(&database_url, data.path()).args(["keys", "list"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let db = shared_db(&database_url).await;
        let hundred_days_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 100 * 86_400;
        inspect::execute_sql(&db, "INSERT INTO key_schedule (id, rotated_at) VALUES (1, $1)", vec![hundred_days_ago.into()])
            .await
            .unwrap();

        let mut nodes: Vec<Node> = (0..2)
            .map(|_| {
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                let node_data = tempfile::tempdir().unwrap();
                node_command(&database_url, node_data.path())
                    .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map(|child| Node(child, node_data))
                    .unwrap()
            })
            .collect();
        let passes = tokio::task::spawn_blocking(move || {
            let passes: Vec<Pass> = nodes.iter_mut().map(first_pass).collect();
            (passes, nodes)
        });
        // A guard against a hang, not a timing assertion.
        let (mut passes, _nodes) = tokio::time::timeout(std::time::Duration::from_secs(120), passes)
            .await
            .expect("both nodes ran their housekeeping")
            .unwrap();
        passes.sort_by_key(|p| *p == Pass::NotDue);
        assert_eq!(passes, [Pass::Rotated, Pass::NotDue], "one node rotates, the other finds it done");
        for alg in ["RS256", "ES256", "EdDSA"] {
            let keys = inspect::count(&db, "SELECT COUNT(*) FROM signing_keys WHERE alg = $1", vec![alg.into()]).await.unwrap();
            assert_eq!(keys, 2, "one new {alg} key, not two");
        }
    }
);

db_test!(
    async fn keys_rotated_by_hand_before_the_upgrade_retired_when_their_successor_activated(backend) {
        use migration::MigratorTrait;
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            crate::helpers::Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display()),
            crate::helpers::Backend::Postgres => crate::helpers::fresh_postgres_database().await,
        };
        let conn = sea_orm::Database::connect(&url).await.unwrap();
        migration::Migrator::up(&conn, Some(4)).await.unwrap();
        // The old `keys rotate`: k1 stays published until 9000 and signed until k2 activated.
        conn.execute_unprepared(
            "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, activates_at, expires_at) VALUES \
             ('k1', 'RS256', 'sealed', '{}', 1000, 1000, 9000), ('k2', 'RS256', 'sealed', '{}', 4000, 5000, NULL), \
             ('e1', 'ES256', 'sealed', '{}', 1000, 1000, NULL)",
        )
        .await
        .unwrap();
        migration::Migrator::up(&conn, None).await.unwrap();
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT kid, retires_at, expires_at FROM signing_keys ORDER BY kid",
            ))
            .await
            .unwrap();
        let rows: Vec<(String, Option<i64>, Option<i64>)> = rows
            .iter()
            .map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap(), r.try_get_by_index(2).unwrap()))
            .collect();
        assert_eq!(
            rows,
            [("e1".into(), None, None), ("k1".into(), Some(5000), Some(9000)), ("k2".into(), None, None)],
            "k1 retired when k2 activated; keys without a successor keep signing"
        );
        assert_eq!(conn.query_all_raw(sea_orm::Statement::from_string(conn.get_database_backend(), "SELECT id FROM key_schedule")).await.unwrap().len(), 0, "the schedule starts at the first housekeeping");
    }
);
