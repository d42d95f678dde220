//! Prometheus metrics. One recorder per process (installed on first use); the `/metrics`
//! endpoint renders it, refreshing the gauges that are read rather than counted.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder (once) and returns the handle that renders it.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Names of every metric, so they are written the same everywhere.
pub mod names {
    pub const HTTP_REQUESTS: &str = "portcullis_http_requests_total";
    pub const HTTP_DURATION: &str = "portcullis_http_request_duration_seconds";
    pub const LOGINS: &str = "portcullis_logins_total";
    pub const TOKENS_ISSUED: &str = "portcullis_tokens_issued_total";
    pub const REFRESH_REUSE: &str = "portcullis_refresh_token_reuse_detected_total";
    pub const MAIL_OUTBOX_PENDING: &str = "portcullis_mail_outbox_pending";
    pub const MAIL_FAILURES: &str = "portcullis_mail_delivery_failures_total";
    pub const MAIL_SENT: &str = "portcullis_mail_sent_total";
    pub const AUDIT_WEBHOOKS_PENDING: &str = "portcullis_audit_webhooks_pending";
    pub const AUDIT_WEBHOOKS_DELIVERED: &str = "portcullis_audit_webhooks_delivered_total";
    pub const AUDIT_WEBHOOK_FAILURES: &str = "portcullis_audit_webhook_failures_total";
    pub const ARGON2_WAIT: &str = "portcullis_argon2_queue_wait_seconds";
    pub const DB_POOL_SIZE: &str = "portcullis_db_pool_connections";
    pub const DB_POOL_IDLE: &str = "portcullis_db_pool_idle_connections";
}
