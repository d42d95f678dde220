//! Health endpoints, error pages and request ids.

use crate::helpers::{db_test, spawn_app};

db_test!(
    async fn health_endpoints_report_liveness_and_database_readiness(backend) {
        let app = spawn_app(backend).await;
        let browser = app.browser();
        let live = browser.get("/health/live").await;
        assert_eq!(live.status(), 200);
        let ready = browser.get("/health/ready").await;
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    }
);

db_test!(
    async fn unknown_pages_get_a_friendly_404_with_the_request_id(backend) {
        let app = spawn_app(backend).await;
        let res = app.browser().get("/does/not/exist").await;
        assert_eq!(res.status(), 404);
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let html = res.text().await.unwrap();
        assert!(html.contains("Page not found") && html.contains(&id), "the page names the request id");

        let res = app.browser().client.delete(app.url("/profile/email")).send().await.unwrap();
        assert_eq!(res.status(), 405);
        assert!(res.text().await.unwrap().contains("cannot be used that way"));
    }
);

db_test!(
    async fn a_client_supplied_request_id_is_replaced(backend) {
        let app = spawn_app(backend).await;
        let res = app.browser().client.get(app.url("/")).header("x-request-id", "attacker-chosen-id").send().await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
);

db_test!(
    async fn metrics_are_off_by_default_and_count_requests_logins_tokens_and_mail_when_on(backend) {
        let off = crate::helpers::spawn_app(backend).await;
        assert_eq!(off.browser().get("/metrics").await.status(), 404);

        let app = crate::helpers::spawn_app_with(backend, |s| s.http.metrics_enabled = true).await;
        app.browser().register("alice", "alice@example.com", crate::helpers::PASSWORD).await;
        app.browser().login("alice", "wrong password").await;
        let svc = app
            .client("svc", crate::helpers::oidc::ClientSpec { grants: &["client_credentials"], scopes: &["api"], ..Default::default() })
            .await;
        app.token_request("/token", &svc, &[("grant_type", "client_credentials")]).await;
        let res = app.browser().get("/metrics").await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        for expected in [
            "portcullis_http_requests_total{",
            "route=\"/login\"",
            "portcullis_http_request_duration_seconds_bucket",
            "portcullis_logins_total{result=\"failure\"}",
            "portcullis_tokens_issued_total{grant=\"client_credentials\"}",
            "portcullis_argon2_queue_wait_seconds",
            "portcullis_db_pool_connections",
            "portcullis_mail_outbox_pending",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app =
        crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |s| s.http.header_read_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: portcullis\r\nX-Slow: ").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(app.browser().get("/health/live").await.status(), 200, "others are served meanwhile");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection instead of waiting for the rest");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "and served nothing for it");
}
