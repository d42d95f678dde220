//! Sign-in throttling rules (issues 12 and 20): only completed failures count, a correct
//! password is never called wrong, the wait is capped and decays, API clients have a device
//! credential, counter keys do not link a username to its address, registration is limited,
//! and housekeeping purges old counters.

use futures::future::join_all;
use reqwest::Response;
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::{PASSWORD, TestApp, db_test, spawn_app, spawn_app_with};

async fn api_post(app: &TestApp, path: &str, body: Value) -> Response {
    reqwest::Client::new().post(app.url(path)).json(&body).send().await.expect("POST")
}

async fn api_login(app: &TestApp, name: &str, password: &str) -> Response {
    api_post(app, "/login", json!({ "username": name, "password": password })).await
}

fn retry_after(res: &Response) -> i64 {
    res.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds")
}

fn statuses(results: &[Response]) -> Vec<u16> {
    results.iter().map(|r| r.status().as_u16()).collect()
}

db_test!(
    async fn fifty_parallel_right_password_sign_ins_all_succeed(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let checks_before = app.state.accounts.password_checks();

        let results = join_all((0..50).map(|_| api_login(&app, "alice", PASSWORD))).await;

        let answers = statuses(&results);
        assert!(answers.iter().all(|s| *s == 200), "every right password gets in: {answers:?}");
        assert_eq!(app.state.accounts.password_checks() - checks_before, 50, "each was checked once");
        let key = app.state.accounts.login_key("alice").unwrap();
        assert_eq!(app.count(&format!("login_throttle WHERE bucket = '{key}'")).await, 0, "nothing left in flight");
    }
);

db_test!(
    async fn fifty_parallel_wrong_passwords_get_no_more_checks_than_the_free_failures(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let checks_before = app.state.accounts.password_checks();

        let results = join_all((0..50).map(|_| api_login(&app, "alice", "a wrong guess"))).await;

        assert_eq!(app.state.accounts.password_checks() - checks_before, 5, "the budget is five checks (clock frozen)");
        let answers = statuses(&results);
        assert_eq!(answers.iter().filter(|s| **s == 401).count(), 5, "checked and wrong: {answers:?}");
        assert_eq!(answers.iter().filter(|s| **s == 429).count(), 45, "turned away unchecked: {answers:?}");
        for res in results.iter().filter(|r| r.status() == 429) {
            assert_eq!(retry_after(res), 1, "the fifth failure earned a one-second wait");
        }
    }
);

db_test!(
    async fn a_right_password_racing_wrong_ones_is_never_called_wrong(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;

        let attempts = (0..40).map(|n| {
            let password = if n % 2 == 0 { PASSWORD } else { "a wrong guess" };
            let app = &app;
            async move { (password == PASSWORD, api_login(app, "alice", password).await.status().as_u16()) }
        });
        let results = join_all(attempts).await;

        for (right, status) in &results {
            let allowed: &[u16] = if *right { &[200, 429] } else { &[401, 429] };
            assert!(allowed.contains(status), "right password {right}: {status} in {results:?}");
        }
        assert!(results.iter().any(|(right, status)| *right && *status == 200), "some right ones got in: {results:?}");
    }
);

db_test!(
    async fn the_wait_doubles_up_to_fifteen_minutes_and_no_further(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let mut waits = Vec::new();
        for _ in 0..100 {
            if waits.len() == 13 {
                break;
            }
            let res = api_login(&app, "alice", "a wrong guess").await;
            match res.status().as_u16() {
                401 => {}
                429 => {
                    let wait = retry_after(&res);
                    waits.push(wait);
                    app.clock.advance(Duration::seconds(wait));
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]);
        assert_eq!(api_login(&app, "alice", PASSWORD).await.status(), 200, "after the wait the owner gets in");
    }
);

db_test!(
    async fn a_name_collects_fewer_than_a_hundred_consecutive_failures_then_waits_for_them_to_decay(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let first: Value = api_login(&app, "alice", PASSWORD).await.json().await.unwrap();
        let device = first["device_token"].as_str().expect("a device token").to_string();
        let checks_before = app.state.accounts.password_checks();
        let mut long_wait = None;
        for _ in 0..400 {
            let res = api_login(&app, "alice", "a patient guess").await;
            match res.status().as_u16() {
                401 => {}
                429 if retry_after(&res) <= 900 => app.clock.advance(Duration::seconds(retry_after(&res))),
                429 => {
                    long_wait = Some(retry_after(&res));
                    break;
                }
                other => panic!("unexpected {other}"),
            }
        }
        let checked = app.state.accounts.password_checks() - checks_before;
        assert_eq!(checked, 99, "the 99th consecutive failure is the last one checked");
        assert_eq!(long_wait, Some(86_400), "then the name waits until its failures decay");

        let with_device = json!({ "username": "alice", "password": PASSWORD, "device_token": device });
        assert_eq!(api_post(&app, "/login", with_device).await.status(), 200, "the owner's known device still gets in");
    }
);

db_test!(
    async fn failures_stop_counting_after_a_quiet_day(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        for _ in 0..5 {
            assert_eq!(api_login(&app, "alice", "a wrong guess").await.status(), 401);
        }
        assert_eq!(api_login(&app, "alice", "a wrong guess").await.status(), 429, "the free failures are spent");

        app.clock.advance(Duration::seconds(24 * 3600 + 1));
        let checks_before = app.state.accounts.password_checks();
        for n in 1..=5 {
            assert_eq!(api_login(&app, "alice", "a typo").await.status(), 401, "typo {n} is checked again");
        }
        assert_eq!(app.state.accounts.password_checks() - checks_before, 5, "the old failures no longer count");
    }
);

db_test!(
    async fn an_api_client_signs_in_with_its_device_token_while_the_name_is_locked(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        app.browser().register("bobby", "bobby@example.com", PASSWORD).await;
        let first: Value = api_login(&app, "alice", PASSWORD).await.json().await.unwrap();
        let token = first["device_token"].as_str().expect("a successful JSON login hands out a device_token").to_string();

        for name in ["alice", "bobby"] {
            for _ in 0..6 {
                api_login(&app, name, "a wrong guess").await;
            }
        }
        assert_eq!(api_login(&app, "alice", PASSWORD).await.status(), 429, "without the token the name is locked");

        let with_token = |name: &str| json!({ "username": name, "password": PASSWORD, "device_token": token });
        let res = api_post(&app, "/login", with_token("alice")).await;
        assert_eq!(res.status(), 200, "the known API client gets in");
        let body: Value = res.json().await.unwrap();
        assert!(body["access_token"].is_string());
        assert!(body.get("device_token").is_none(), "its token is still good: no new one");
        assert_eq!(api_post(&app, "/login", with_token("bobby")).await.status(), 429, "it opens only its own account");

        let doc: Value = reqwest::get(app.url("/openapi.json")).await.unwrap().json().await.unwrap();
        let login_fields = &doc["paths"]["/login"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"];
        assert!(login_fields["device_token"]["description"].is_string(), "the OpenAPI document explains device_token");
        assert!(doc["components"]["schemas"]["Tokens"]["properties"]["device_token"].is_object());
    }
);

db_test!(
    async fn a_username_and_its_address_are_throttled_apart_exactly_like_two_unknown_names(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        let observe = |name: &'static str, address: &'static str| {
            let app = &app;
            async move {
                let mut answers = Vec::new();
                for _ in 0..6 {
                    answers.push(api_login(app, name, "a wrong guess").await.status().as_u16());
                }
                let checks_before = app.state.accounts.password_checks();
                answers.push(api_post(app, "/login", json!({ "email": address, "password": "a wrong guess" })).await.status().as_u16());
                (answers, app.state.accounts.password_checks() - checks_before)
            }
        };
        let known = observe("alice", "alice@example.com").await;
        let unknown = observe("nobody", "nobody@example.com").await;

        assert_eq!(known, unknown, "an observer cannot tell the pairs apart");
        assert_eq!(known.0, [401, 401, 401, 401, 401, 429, 401], "locking the name leaves the address alone");
        assert_eq!(known.1, 1, "the address was checked on its own counter");
        let named = app.count("login_throttle WHERE bucket LIKE '%alice%' OR bucket LIKE '%nobody%' OR bucket LIKE 'acct:%'").await;
        assert_eq!(named, 0, "counter keys are keyed hashes, not names or user ids");
    }
);

db_test!(
    async fn registrations_beyond_the_address_limit_get_429_on_the_page_and_the_api(backend) {
        let app = spawn_app_with(backend, |s| s.account.register_max_per_ip = 2).await;
        let hashes_before = app.state.accounts.password_hashes();
        assert_eq!(app.browser().register("user1", "user1@example.com", PASSWORD).await.status(), 200);
        let api = |n: &str| json!({ "username": n, "email": format!("{n}@example.com"), "password": PASSWORD });
        assert_eq!(api_post(&app, "/register", api("user2")).await.status(), 201);

        // The cheap refusals neither hash nor count.
        assert_eq!(app.browser().register("user1", "other@example.com", PASSWORD).await.status(), 409, "taken username");
        assert_eq!(app.browser().register("user9", "not an address", PASSWORD).await.status(), 400, "invalid form");
        assert_eq!(app.state.accounts.password_hashes() - hashes_before, 2, "only the two registrations hashed");

        let page = app.browser().register("user3", "user3@example.com", PASSWORD).await;
        assert_eq!(page.status(), 429);
        assert!((1..=3600).contains(&retry_after(&page)), "Retry-After on the page");
        assert!(page.text().await.unwrap().contains("Try again in 60 minutes"), "a friendly page that says when");
        let res = api_post(&app, "/register", api("user4")).await;
        assert_eq!(res.status(), 429);
        assert!((1..=3600).contains(&retry_after(&res)), "Retry-After on the API");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "too_many_requests");
        assert_eq!(app.state.accounts.password_hashes() - hashes_before, 2, "refused registrations cost no hash");
        assert_eq!(app.count("users").await, 2);

        app.clock.advance(Duration::seconds(3601));
        assert_eq!(app.browser().register("user3", "user3@example.com", PASSWORD).await.status(), 200, "a new window");
    }
);

db_test!(
    async fn registration_limits_count_the_client_behind_a_trusted_proxy_and_everyone_together(backend) {
        let app = spawn_app_with(backend, |s| {
            s.account.register_max_per_ip = 1;
            s.account.register_max_global = 3;
            s.http.trusted_proxies = vec!["127.0.0.1/32".into()];
        })
        .await;
        let client = reqwest::Client::new();
        let register = |n: u32, from: &'static str| {
            let body = json!({ "username": format!("user{n}"), "email": format!("user{n}@example.com"), "password": PASSWORD });
            let request = client.post(app.url("/register")).header("x-forwarded-for", from).json(&body);
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(register(1, "203.0.113.1").await, 201);
        assert_eq!(register(2, "203.0.113.1").await, 429, "one per client address");
        assert_eq!(register(3, "203.0.113.2").await, 201, "another client behind the proxy has its own budget");
        assert_eq!(register(4, "203.0.113.3").await, 201);
        assert_eq!(register(5, "203.0.113.4").await, 429, "three in all per window");
    }
);

db_test!(
    async fn housekeeping_purges_counters_older_than_their_window_and_keeps_fresh_ones(backend) {
        let app = spawn_app(backend).await;
        app.browser().register("alice", "alice@example.com", PASSWORD).await;
        assert_eq!(api_login(&app, "alice", PASSWORD).await.status(), 200, "a known device");
        let ghosts = ["ghost-one", "ghost-two", "ghost-three"];
        for name in ghosts {
            assert_eq!(api_login(&app, name, "a guess").await.status(), 401);
        }
        let key = |name: &str| app.state.accounts.login_key(name).unwrap();
        let rows = |bucket: String| {
            let app = &app;
            async move { app.count(&format!("login_throttle WHERE bucket = '{bucket}'")).await }
        };
        assert_eq!(app.count("login_throttle").await, 6, "three names, the address, two registration windows");

        app.clock.advance(Duration::days(2));
        assert_eq!(api_login(&app, "ghost-four", "a guess").await.status(), 401);
        portcullis::startup::housekeep(&app.state).await;

        for name in ghosts {
            assert_eq!(rows(key(name)).await, 0, "{name}: decayed, so purged");
        }
        assert_eq!(app.count("login_throttle WHERE bucket LIKE 'register-%'").await, 0, "old registration windows");
        assert_eq!(rows(key("ghost-four")).await, 1, "a fresh failure stays");
        assert_eq!(app.scalar("SELECT CAST(failures AS BIGINT) FROM login_throttle WHERE bucket = 'ip:127.0.0.1'").await, 1, "the address window restarted and stays");

        app.clock.advance(Duration::hours(1));
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(rows(key("ghost-four")).await, 1, "an hour-old failure still counts");
        assert_eq!(rows("ip:127.0.0.1".into()).await, 0, "the 15-minute address window is over");

        assert_eq!(app.count("known_devices").await, 1);
        app.clock.advance(Duration::days(366));
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(app.count("known_devices").await, 0, "devices unused for longer than their cookie lives");
        assert_eq!(app.count("login_throttle").await, 0, "and nothing old is left");
    }
);

db_test!(
    async fn a_check_that_never_completes_gives_its_slot_back(backend) {
        // One hashing thread and its 64-job queue: a burst of 120 names overfills it, and the
        // checks turned away (503) were admitted but never resolved. Each check is made slower
        // (more argon2 passes) so the queue overflows even when the burst arrives slowly (a
        // loaded machine once sent it slower than one thread drained it).
        let app = spawn_app_with(backend, |s| {
            s.password.hash_concurrency = 1;
            s.password.argon2_iterations = 8;
            s.login.ip_max_failures = 10_000;
        })
        .await;
        let names: Vec<String> = (0..120).map(|n| format!("name-{n}")).collect();
        let results = join_all(names.iter().map(|name| api_login(&app, name, "a guess"))).await;
        let answers = statuses(&results);
        assert!(answers.contains(&503), "the queue overflowed: {answers:?}");
        assert!(answers.iter().all(|s| *s == 401 || *s == 503), "{answers:?}");
        for res in results.iter().filter(|r| r.status() == 503) {
            assert!(res.headers().contains_key("retry-after"));
        }

        let mut held = -1;
        for _ in 0..100 {
            held = app.count("login_throttle WHERE in_flight > 0").await;
            if held == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(held, 0, "every abandoned check gave its slot back");
        let failed = answers.iter().filter(|s| **s == 401).count() as i64;
        assert_eq!(app.scalar("SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM login_throttle WHERE bucket LIKE 'login:%'").await, failed, "only the completed checks count as failures");
    }
);
