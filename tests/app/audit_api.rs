//! The audit log's read side: `GET /admin/api/events` (filters, cursor pages, access, no
//! write of any kind), `portcullis events tail [--follow]` through the real binary, and the
//! retention purge by housekeeping.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use portcullis::audit::{Actor, Event, EventKind, Filter, Recorded};
use portcullis::clock::Clock;
use portcullis::identity::user::UserId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::call;
use crate::cli::portcullis;
use crate::helpers::oidc::ClientSpec;
use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app, spawn_app_with};

/// A signed-in user's API token (registered and signed in through the JSON API).
async fn api_token(app: &TestApp, username: &str) -> String {
    let http = reqwest::Client::new();
    let body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    assert_eq!(http.post(app.url("/register")).json(&body).send().await.unwrap().status(), 201);
    let res =
        http.post(app.url("/login")).json(&json!({"username": username, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn admin_token(app: &TestApp) -> String {
    let token = api_token(app, "admin").await;
    let id = UserId::parse(&app.user_id("admin").await).unwrap();
    let changes = portcullis::identity::admin::AdminChanges { is_admin: Some(true), ..Default::default() };
    app.state.accounts.admin_update(&portcullis::audit::Actor::Cli, id, changes).await.unwrap();
    token
}

/// Appends an event as the code that makes a change would.
async fn seed(app: &TestApp, at_ms: i64, event: Event) -> Recorded {
    portcullis::store::audit::append(&app.state.db, at_ms, &event).await.unwrap()
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap().format(&Rfc3339).unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

db_test!(
    async fn administrators_read_the_log_newest_first_filtered_by_user_type_client_and_time(backend) {
        let app = spawn_app(backend).await;
        let token = admin_token(&app).await;
        let (alice, bob) = (UserId::generate(), UserId::generate());
        let t0 = app.clock.now_ms();
        let a1 = seed(&app, t0 + 1_000, Event::new(EventKind::ConsentGranted).actor(Actor::User(alice)).user(alice).client("shop").detail("scope", "openid")).await;
        let b1 = seed(&app, t0 + 2_000, Event::new(EventKind::ConsentGranted).actor(Actor::User(bob)).user(bob).client("news")).await;
        let a2 = seed(&app, t0 + 3_000, Event::new(EventKind::TokenRevoked).actor(Actor::Client("shop".into())).user(alice).client("shop")).await;
        let k = seed(&app, t0 + 4_000, Event::new(EventKind::KeyRotated).actor(Actor::System).detail("trigger", "scheduled")).await;
        let get = |query: String| {
            let (app, token) = (&app, &token);
            async move { call(app, Method::GET, &format!("/admin/api/events?{query}"), token, None).await }
        };

        let (status, page) = get(format!("user={alice}")).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), vec![a2.id.clone(), a1.id.clone()], "alice's events, newest first");
        assert_eq!(page["next_cursor"], Value::Null, "one page holds them all");
        let first = &page["events"][1];
        assert_eq!((first["type"].as_str(), first["actor"].as_str()), (Some("consent.granted"), Some(format!("user:{alice}").as_str())));
        assert_eq!((first["client_id"].as_str(), first["detail"]["scope"].as_str(), first["at_ms"].as_i64()), (Some("shop"), Some("openid"), Some(t0 + 1_000)));

        let cases = [
            ("type=consent.granted", vec![&b1, &a1]),
            ("type=key.rotated&type=token.revoked", vec![&k, &a2]),
            ("type=key.rotated,token.revoked", vec![&k, &a2]),
            ("client=shop", vec![&a2, &a1]),
            ("client=shop&type=token.revoked", vec![&a2]),
            (&format!("since={}&until={}", rfc3339(t0 + 2_000), rfc3339(t0 + 4_000)) as &str, vec![&a2, &b1]),
            (&format!("since={}", rfc3339(t0 + 3_500)), vec![&k]),
            ("client=nobody", vec![]),
        ];
        for (query, expected) in cases {
            let (status, page) = get(query.to_string()).await;
            assert_eq!(status, 200, "{query}: {page}");
            let want: Vec<String> = expected.iter().map(|e| e.id.clone()).collect();
            let got: Vec<String> = ids(&page).into_iter().filter(|id| [&a1, &b1, &a2, &k].iter().any(|e| e.id == *id)).collect();
            assert_eq!(got, want, "{query}");
        }
    }
);

db_test!(
    async fn pages_follow_the_cursor_without_duplicates_or_gaps_and_the_last_page_says_so(backend) {
        let app = spawn_app(backend).await;
        let token = admin_token(&app).await;
        let t0 = app.clock.now_ms();
        let mut seeded = Vec::new();
        for i in 0..23 {
            // Some share a millisecond: the order is still the order of appending.
            let event = Event::new(EventKind::TokenRevoked).client("pager").detail("n", i);
            seeded.push(seed(&app, t0 + i / 3, event).await.id);
        }
        seeded.reverse();
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let query = match &cursor {
                Some(c) => format!("/admin/api/events?client=pager&limit=5&cursor={c}"),
                None => "/admin/api/events?client=pager&limit=5".to_string(),
            };
            let (status, page) = call(&app, Method::GET, &query, &token, None).await;
            assert_eq!(status, 200, "{page}");
            pages += 1;
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => {
                    assert_eq!(Some(next), seen.last().map(String::as_str), "the cursor is the page's last event");
                    cursor = Some(next.to_string());
                }
                None => break,
            }
        }
        assert_eq!(seen, seeded, "every event once, newest first");
        assert_eq!(pages, 5, "4 full pages and one of 3");

        // A full last page still ends the walk.
        let (_, all) = call(&app, Method::GET, "/admin/api/events?client=pager&limit=23", &token, None).await;
        assert_eq!((ids(&all).len(), &all["next_cursor"]), (23, &Value::Null));
        let (_, default) = call(&app, Method::GET, "/admin/api/events?client=pager", &token, None).await;
        assert_eq!(ids(&default).len(), 23, "the default page is 50");
    }
);

db_test!(
    async fn the_audit_log_is_for_administrators_only(backend) {
        let app = spawn_app(backend).await;
        seed(&app, app.clock.now_ms(), Event::new(EventKind::KeyRotated).actor(Actor::System)).await;
        let res = reqwest::Client::new().get(app.url("/admin/api/events")).send().await.unwrap();
        assert_eq!(res.status(), 401, "no token");
        assert!(res.headers().get("www-authenticate").is_some());
        assert_eq!(res.headers()["content-type"], "application/problem+json");

        let user = api_token(&app, "alice").await;
        let (status, problem) = call(&app, Method::GET, "/admin/api/events", &user, None).await;
        assert_eq!((status, problem["status"].as_u64()), (StatusCode::FORBIDDEN, Some(403)), "a person who is not an admin: {problem}");
        assert!(problem.get("events").is_none());

        let client_token = |id: &'static str, scopes: &'static [&'static str], api_access: bool| {
            let app = &app;
            async move {
                let c = app.client(id, ClientSpec { grants: &["client_credentials"], scopes, api_access, ..Default::default() }).await;
                let res = app.token_request("/token", &c, &[("grant_type", "client_credentials"), ("scope", scopes[0])]).await;
                res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
            }
        };
        let rp = client_token("rp", &["reports"], false).await;
        assert_eq!(call(&app, Method::GET, "/admin/api/events", &rp, None).await.0, 403, "a token for another audience");
        let ops = client_token("ops", &["admin"], true).await;
        assert_eq!(call(&app, Method::GET, "/admin/api/events", &ops, None).await.0, 200, "a client allowed the admin API, with the admin scope");
        assert_eq!(call(&app, Method::GET, "/admin/api/events", "not-a-token", None).await.0, 401);

        let admin = admin_token(&app).await;
        let (status, page) = call(&app, Method::GET, "/admin/api/events?type=key.rotated", &admin, None).await;
        assert_eq!((status, ids(&page).len()), (StatusCode::OK, 1));
        let id = UserId::parse(&app.user_id("admin").await).unwrap();
        let demote = portcullis::identity::admin::AdminChanges { is_admin: Some(false), ..Default::default() };
        app.state.accounts.admin_update(&portcullis::audit::Actor::Cli, id, demote).await.unwrap();
        assert_eq!(call(&app, Method::GET, "/admin/api/events", &admin, None).await.0, 403, "the admin role is checked per request");
    }
);

db_test!(
    async fn bad_filters_are_problems_that_name_the_parameter(backend) {
        let app = spawn_app(backend).await;
        let token = admin_token(&app).await;
        for (query, field) in [
            ("type=sign_in.nope", "type"),
            ("type=key.rotated&type=bogus", "type"),
            ("since=last-tuesday", "since"),
            ("until=2026-13-01T00:00:00Z", "until"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("cursor=zzz", "cursor"),
            ("client=a&client=b", "client"),
            ("user=a%0Ab", "user"),
        ] {
            let (status, problem) = call(&app, Method::GET, &format!("/admin/api/events?{query}"), &token, None).await;
            assert_eq!(status, 400, "{query}: {problem}");
            assert!(problem["errors"][field].is_string(), "{query}: {problem}");
        }
        assert_eq!(call(&app, Method::GET, "/admin/api/events?limit=500&since=2026-12-04T10:00:00%2B01:00", &token, None).await.0, 200);
    }
);

db_test!(
    async fn no_method_writes_changes_or_deletes_an_event(backend) {
        let app = spawn_app(backend).await;
        let token = admin_token(&app).await;
        let event = seed(&app, app.clock.now_ms(), Event::new(EventKind::KeyRotated).actor(Actor::System).detail("trigger", "manual")).await;
        let body = json!({"type": "sign_in.succeeded", "actor": "system", "detail": {}});
        let collection = "/admin/api/events".to_string();
        let one = format!("/admin/api/events/{}", event.id);
        for path in [&collection, &one] {
            for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                let (status, problem) = call(&app, method.clone(), path, &token, Some(body.clone())).await;
                assert!(matches!(status.as_u16(), 404 | 405), "{method} {path}: {status} {problem}");
                assert!(problem["status"].is_u64(), "{method} {path}: a problem document");
            }
        }
        let all = portcullis::store::audit::list(&app.state.db, &Filter { limit: 500, ..Filter::default() }).await.unwrap();
        let rotated: Vec<_> = all.iter().filter(|e| e.kind == "key.rotated").collect();
        assert_eq!(rotated, vec![&event], "the event is there, unchanged");
        assert!(!all.iter().any(|e| e.actor.as_deref() == Some("system") && e.kind == "sign_in.succeeded"), "nothing was added");
    }
);

db_test!(
    async fn events_older_than_the_retention_period_are_purged_by_housekeeping(backend) {
        let app = spawn_app(backend).await;
        let days = i64::from(app.state.settings.audit.retention_days);
        assert_eq!(days, 90, "the default");
        let old = seed(&app, app.clock.now_ms(), Event::new(EventKind::TokenRevoked).client("retention")).await;
        app.clock.advance(time::Duration::days(days) - time::Duration::hours(1));
        let young = seed(&app, app.clock.now_ms(), Event::new(EventKind::TokenRevoked).client("retention")).await;
        portcullis::startup::housekeep(&app.state).await;
        let left = |app: &TestApp| {
            let db = app.state.db.clone();
            async move {
                let filter = Filter { client: Some("retention".into()), limit: 10, ..Filter::default() };
                portcullis::store::audit::list(&db, &filter).await.unwrap().into_iter().map(|e| e.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(left(&app).await, vec![young.id.clone(), old.id.clone()], "not yet {days} days old");
        app.clock.advance(time::Duration::hours(2));
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(left(&app).await, vec![young.id], "the older one passed {days} days");

        let forever = spawn_app_with(backend, |s| s.audit.retention_days = 0).await;
        seed(&forever, forever.clock.now_ms(), Event::new(EventKind::TokenRevoked).client("retention")).await;
        forever.clock.advance(time::Duration::days(3650));
        portcullis::startup::housekeep(&forever.state).await;
        assert_eq!(left(&forever).await.len(), 1, "retention_days = 0 keeps events forever");
    }
);

db_test!(
    async fn events_tail_prints_the_latest_events_oldest_first_as_a_table_or_json_lines(backend) {
        let app = spawn_app(backend).await;
        let alice = UserId::generate();
        let t0 = app.clock.now_ms();
        for (i, client) in ["one", "two", "three"].iter().enumerate() {
            seed(&app, t0 + i as i64, Event::new(EventKind::TokenRevoked).actor(Actor::Client(client.to_string())).user(alice).client(*client)).await;
        }
        seed(&app, t0 + 5, Event::new(EventKind::KeyRotated).actor(Actor::Cli).detail("trigger", "manual")).await;

        let out = portcullis(&app, &["events", "tail", "--type", "token.revoked", "--limit", "2", "--json"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let clients: Vec<&str> = lines.iter().map(|e| e["client_id"].as_str().unwrap()).collect();
        assert_eq!(clients, vec!["two", "three"], "the latest two, oldest first");

        let out = portcullis(&app, &["events", "tail", "--user", &alice.to_string(), "--client", "one"], "");
        let table = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 2, "a header and one row: {table}");
        assert!(rows[0].starts_with("TIME (UTC)") && rows[0].contains("DETAIL"), "{table}");
        assert!(rows[1].contains("token.revoked") && rows[1].contains("client:one") && rows[1].contains(&alice.to_string()), "{table}");
        assert!(rows[1].starts_with(&rfc3339(t0)[..19]), "the time in UTC: {table}");

        let out = portcullis(&app, &["events", "tail", "--type", "key.rotated"], "");
        assert!(String::from_utf8_lossy(&out.stdout).contains(r#"{"trigger":"manual"}"#));
        let bad = portcullis(&app, &["events", "tail", "--type", "no.such"], "");
        assert_eq!(bad.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown event type"));
    }
);

db_test!(
    async fn events_tail_follow_prints_each_new_event_once_as_it_is_committed(backend) {
        let app = spawn_app(backend).await;
        let t0 = app.clock.now_ms();
        seed(&app, t0, Event::new(EventKind::TokenRevoked).client("before")).await;
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["events", "tail", "--follow", "--json", "--type", "token.revoked"])
            .env_clear()
            .env("PORTCULLIS_DATA_DIR", app.data_dir.path())
            .env("DATABASE_URL", &app.database_url)
            .env("SECRET_KEY", crate::helpers::SECRET_KEY)
            .env("PORTCULLIS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let (tx, lines) = mpsc::channel::<Value>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str(&line).unwrap_or(Value::Null));
            }
        });
        let next = |what: &str| lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no line for {what}"));
        assert_eq!(next("the existing event")["client_id"], "before");

        seed(&app, t0 + 1_000, Event::new(EventKind::KeyRotated).client("other type")).await;
        seed(&app, t0 + 1_000, Event::new(EventKind::TokenRevoked).client("during")).await;
        assert_eq!(next("a new event")["client_id"], "during");
        // Stamped before the newest one shown but committed after it (a longer transaction):
        // the look-back still finds it.
        seed(&app, t0 + 500, Event::new(EventKind::TokenRevoked).client("late commit")).await;
        assert_eq!(next("a late commit")["client_id"], "late commit");
        std::thread::sleep(Duration::from_millis(2_500));
        child.kill().unwrap();
        child.wait().unwrap();
        let extra: Vec<Value> = lines.try_iter().collect();
        assert_eq!(extra, Vec::<Value>::new(), "nothing printed twice, nothing of another type");
    }
);
