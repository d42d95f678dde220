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
