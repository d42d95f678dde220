//! A database outage: every endpoint answers 503 with Retry-After within seconds, nothing
//! claims success, the authorization endpoint never redirects, and service resumes by itself.

use std::time::{Duration, Instant};

use reqwest::header::{LOCATION, RETRY_AFTER};
use serde_json::json;

use crate::helpers::oidc::{authorize_path, pkce};
use crate::helpers::proxy::Proxy;
use crate::helpers::{Backend, PASSWORD, fresh_postgres_database, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL: set PORTCULLIS_TEST_POSTGRES_URL and pass --ignored"]
async fn a_postgres_outage_answers_503_everywhere_and_service_resumes_by_itself() {
    let direct = url::Url::parse(&fresh_postgres_database().await).unwrap();
    let proxy = Proxy::start(format!("{}:{}", direct.host_str().unwrap(), direct.port().unwrap_or(5432))).await;
    let mut via_proxy = direct.clone();
    via_proxy.set_port(Some(proxy.port)).unwrap();
    let app = spawn_app_with(Backend::Postgres, |s| {
        s.database_url = portcullis::secret::Secret::new(via_proxy.to_string());
        s.database.acquire_timeout_secs = 2;
    })
    .await;
    app.browser().register("alice", "alice@example.com", PASSWORD).await;
    app.web_client("rp").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let tokens: serde_json::Value = client
        .post(app.url("/login"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();

    proxy.cut();
    let (_, challenge) = pkce();
    let requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("readiness", client.get(app.url("/health/ready"))),
        ("JSON login", client.post(app.url("/login")).json(&json!({"username": "alice", "password": PASSWORD}))),
        ("profile API", client.get(app.url("/profile")).bearer_auth(&access)),
        ("userinfo", client.get(app.url("/userinfo")).bearer_auth(&access)),
        (
            "token",
            client.post(app.url("/token")).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "rp"),
                ("client_secret", "x"),
            ]),
        ),
        (
            "revoke",
            client.post(app.url("/revoke")).form(&[("token", "x"), ("client_id", "rp"), ("client_secret", "x")]),
        ),
        ("authorize", client.get(app.url(&authorize_path("rp", &challenge, &[])))),
    ];
    for (what, request) in requests {
        let started = Instant::now();
        let res = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, 503, "{what}: {body}");
        assert!(headers.get(RETRY_AFTER).is_some(), "{what}: Retry-After");
        assert!(headers.get(LOCATION).is_none(), "{what}: never a redirect");
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: answered within seconds");
    }
    assert_eq!(client.get(app.url("/health/live")).send().await.unwrap().status(), 200, "liveness stays up");
    // Showing the sign-in form stores nothing (stateless CSRF), so it needs no database: it stays
    // up, and submitting it is what answers 503 (the JSON login above).
    let page = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the anonymous login page needs no database");

    proxy.restore();
    let mut ready = false;
    for _ in 0..50 {
        if client.get(app.url("/health/ready")).send().await.unwrap().status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "readiness recovers without a restart");
    assert_eq!(
        client.get(app.url("/profile")).bearer_auth(&access).send().await.unwrap().status(),
        200,
        "and so does the API"
    );
}
