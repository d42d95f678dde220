//! Audit webhooks against a real HTTP receiver started inside each test, which checks every
//! delivery the way docs/audit-webhooks.md tells receivers to (its own HMAC-SHA256 over
//! `"<timestamp>.<raw body>"`, compared in constant time, a 5-minute replay window, repeats
//! detected by event id). Events are appended directly through the store, on the app's own
//! `Db`, as the instrumented actions do.

mod receiver;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use portcullis::audit::{Event, EventKind, Recorded};
use portcullis::clock::{Clock, ManualClock};
use portcullis::config::{Settings, WebhookSettings};
use portcullis::secret::Secret;
use portcullis::startup::Application;
use portcullis::state::AppState;
use portcullis::store::{audit, audit_deliveries};
use time::{Duration, OffsetDateTime};

use self::receiver::Receiver;
use crate::helpers::{Backend, SECRET_KEY, db_test, fresh_postgres_database, spawn_app, spawn_app_with};

const HOOK_SECRET: &str = "whsec-test-0123456789abcdef0123456789abcdef";

fn hook(url: &str, types: &[&str]) -> WebhookSettings {
    WebhookSettings {
        url: url.to_string(),
        secret: Secret::new(HOOK_SECRET),
        secret_file: None,
        types: types.iter().map(|t| t.to_string()).collect(),
        ca_file: None,
    }
}

/// Webhook settings of every test app: the given endpoints, a quick poll.
fn with_hooks(settings: &mut Settings, hooks: Vec<WebhookSettings>) {
    settings.audit.webhooks = hooks;
    settings.audit.webhook_poll_interval_ms = 20;
}

async fn append(state: &AppState, clock: &ManualClock, event: Event) -> Recorded {
    audit::append(&state.db, clock.now_ms(), &event).await.expect("event appended")
}

fn failed_sign_in(n: i64) -> Event {
    Event::new(EventKind::SignInFailed).detail("reason", "wrong_password").detail("n", n)
}

/// Waits (up to 15 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..750 {
        if check().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn deliveries(state: &AppState, event_id: &str) -> Vec<audit_deliveries::State> {
    audit_deliveries::of_event(&state.db, event_id).await.expect("deliveries read")
}

async fn count(state: &AppState, table: &str) -> i64 {
    crate::helpers::sql::scalar(&state.db, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// A port nobody listens on (yet).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

db_test!(
    async fn each_event_arrives_signed_as_the_json_the_events_api_returns(backend) {
        let receiver = Receiver::start().await;
        let app = spawn_app_with(backend, |s| {
            with_hooks(s, vec![hook(&receiver.url(), &[])]);
            s.http.metrics_enabled = true;
        })
        .await;

        let on_pool = append(&app.state, &app.clock, failed_sign_in(1)).await;
        let tx = app.state.db.begin().await.unwrap();
        let in_tx = audit::append(&tx, app.clock.now_ms(), &Event::new(EventKind::ClientCreated).client("shop"))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let got = receiver.wait_for(2).await;
        assert_eq!(receiver.rejected(), 0, "every delivery passed the receiver's checks");
        assert_eq!(receiver.repeats(), 0, "each event once");
        for recorded in [&on_pool, &in_tx] {
            let delivery = got.iter().find(|d| d.event_id == recorded.id).expect("delivered");
            assert_eq!(delivery.body, serde_json::to_value(recorded).unwrap(), "the Recorded shape");
            assert_eq!(delivery.content_type, "application/json");
            let ts: i64 = delivery.timestamp.parse().unwrap();
            assert_eq!(ts, app.clock.now().unix_timestamp(), "signed at the app's time");
        }
        assert_eq!(got.iter().find(|d| d.event_id == in_tx.id).unwrap().body["type"], "client.created");
        eventually("both are marked delivered", || async {
            app.count("audit_deliveries WHERE status = 'delivered'").await == 2
        })
        .await;

        let metrics = app.browser().text("/metrics").await;
        for name in ["portcullis_audit_webhooks_delivered_total", "portcullis_audit_webhooks_pending 0"] {
            assert!(metrics.contains(name), "{name} in /metrics");
        }

        // Housekeeping keeps delivered rows a day, then removes them (the events stay).
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(app.count("audit_deliveries").await, 2);
        app.clock.advance(Duration::hours(25));
        portcullis::startup::housekeep(&app.state).await;
        assert_eq!(app.count("audit_deliveries").await, 0);
        assert_eq!(app.count("audit_events").await, 2);
    }
);

db_test!(
    async fn without_webhooks_an_event_writes_nothing_but_itself(backend) {
        let app = spawn_app(backend).await;
        append(&app.state, &app.clock, failed_sign_in(1)).await;
        assert_eq!((app.count("audit_events").await, app.count("audit_deliveries").await), (1, 0));
    }
);

db_test!(
    async fn a_receiver_that_is_down_then_failing_gets_the_event_once_it_is_healthy(backend) {
        let port = closed_port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let app = spawn_app_with(backend, |s| with_hooks(s, vec![hook(&url, &[])])).await;
        let event = append(&app.state, &app.clock, failed_sign_in(1)).await;

        eventually("the first attempt failed", || async {
            deliveries(&app.state, &event.id).await[0].last_error.is_some()
        })
        .await;
        let first = deliveries(&app.state, &event.id).await.remove(0);
        assert_eq!((first.status.as_str(), first.attempts), ("pending", 1));
        assert!(first.last_error.as_deref().unwrap_or_default().starts_with("connecting: "), "{first:?}");

        // Back, but answering 503: still an attempt that failed, retried after a longer wait.
        let receiver = Receiver::start_on(port).await;
        receiver.answer(503);
        app.clock.advance(Duration::seconds(6));
        eventually("the second attempt got the 503", || async {
            deliveries(&app.state, &event.id).await[0].last_error.as_deref() == Some("answered 503")
        })
        .await;
        let second = deliveries(&app.state, &event.id).await.remove(0);
        assert_eq!((second.status.as_str(), second.attempts), ("pending", 2));

        receiver.answer(200);
        app.clock.advance(Duration::seconds(6));
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!(receiver.count(), 1, "not before the backoff (10 s after the second attempt) is over");
        assert_eq!(deliveries(&app.state, &event.id).await[0].attempts, 2);
        app.clock.advance(Duration::seconds(5));
        let got = receiver.wait_for(2).await;
        assert_eq!(got.iter().filter(|d| d.event_id == event.id).count(), 2, "the refused one and the accepted one");
        eventually("it is marked delivered", || async {
            deliveries(&app.state, &event.id).await[0].status == "delivered"
        })
        .await;
        assert_eq!(receiver.rejected(), 0);
    }
);

db_test!(
    async fn an_https_endpoint_is_only_ever_spoken_to_over_tls(backend) {
        // A plain-HTTP server behind an https URL: the handshake fails, nothing is sent in clear.
        let receiver = Receiver::start().await;
        let url = receiver.url().replace("http://", "https://");
        let app = spawn_app_with(backend, |s| with_hooks(s, vec![hook(&url, &[])])).await;
        let event = append(&app.state, &app.clock, failed_sign_in(1)).await;
        eventually("the attempt failed", || async { deliveries(&app.state, &event.id).await[0].last_error.is_some() })
            .await;
        let error = deliveries(&app.state, &event.id).await[0].last_error.clone().unwrap();
        assert!(error.starts_with("TLS handshake: "), "{error}");
        assert_eq!(receiver.count(), 0, "no request reached the handler");
    }
);

db_test!(
    async fn an_https_endpoint_gets_the_event_when_its_certificate_verifies_and_never_otherwise(backend) {
        let (receiver, ca_pem) = Receiver::start_tls().await;
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        // The same server twice: trusting its private CA, and trusting only the public roots.
        let private_ca = WebhookSettings { ca_file: Some(ca_file), ..hook(&receiver.url(), &[]) };
        let public_roots = hook(&format!("{}?roots=public", receiver.url()), &[]);
        let app = spawn_app_with(backend, |s| with_hooks(s, vec![private_ca, public_roots])).await;

        let event = append(&app.state, &app.clock, failed_sign_in(1)).await;
        let got = receiver.wait_for(1).await;
        assert_eq!(got[0].event_id, event.id);
        eventually("both attempts are settled", || async {
            let states = deliveries(&app.state, &event.id).await;
            states.iter().all(|d| d.status == "delivered" || d.last_error.is_some())
        })
        .await;
        let mut states = deliveries(&app.state, &event.id).await;
        states.sort_by_key(|d| d.status.clone());
        assert_eq!(states[0].status, "delivered");
        let refused = states[1].last_error.clone().unwrap_or_default();
        assert!(refused.starts_with("TLS handshake: invalid peer certificate"), "{refused}");
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!((receiver.count(), receiver.rejected()), (1, 0));
    }
);

db_test!(
    async fn an_event_whose_transaction_rolls_back_is_never_delivered(backend) {
        let receiver = Receiver::start().await;
        let app = spawn_app_with(backend, |s| with_hooks(s, vec![hook(&receiver.url(), &[])])).await;

        let tx = app.state.db.begin().await.unwrap();
        let rolled_back = audit::append(&tx, app.clock.now_ms(), &failed_sign_in(1)).await.unwrap();
        drop(tx);
        let committed = append(&app.state, &app.clock, failed_sign_in(2)).await;

        let got = receiver.wait_for(1).await;
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!(receiver.count(), 1);
        assert_eq!(got[0].event_id, committed.id);
        assert!(deliveries(&app.state, &rolled_back.id).await.is_empty(), "no delivery row survived the rollback");
        assert_eq!(app.count("audit_deliveries").await, 1);
    }
);

db_test!(
    async fn an_endpoint_with_a_type_filter_receives_only_those_types(backend) {
        let everything = Receiver::start().await;
        let sign_ins = Receiver::start().await;
        let app = spawn_app_with(backend, |s| {
            with_hooks(s, vec![hook(&everything.url(), &[]), hook(&sign_ins.url(), &["sign_in.*", "user.deleted"])])
        })
        .await;

        let failed = append(&app.state, &app.clock, failed_sign_in(1)).await;
        let created = append(&app.state, &app.clock, Event::new(EventKind::UserCreated)).await;
        let deleted = append(&app.state, &app.clock, Event::new(EventKind::UserDeleted)).await;
        let rotated = append(&app.state, &app.clock, Event::new(EventKind::KeyRotated)).await;

        everything.wait_for(4).await;
        let got = sign_ins.wait_for(2).await;
        let mut ids: Vec<_> = got.iter().map(|d| d.event_id.clone()).collect();
        ids.sort();
        assert_eq!(ids, [failed.id.clone(), deleted.id.clone()]);
        assert_eq!(app.count("audit_deliveries").await, 6, "a row per matching endpoint, none for the others");
        assert_eq!(deliveries(&app.state, &created.id).await.len(), 1);
        assert_eq!(deliveries(&app.state, &rotated.id).await.len(), 1);
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!((everything.count(), sign_ins.count()), (4, 2));
    }
);

db_test!(
    async fn with_a_maximum_of_attempts_a_delivery_is_given_up_and_marked_failed(backend) {
        let receiver = Receiver::start().await;
        receiver.answer(500);
        let app = spawn_app_with(backend, |s| {
            with_hooks(s, vec![hook(&receiver.url(), &[])]);
            s.audit.webhook_max_attempts = 2;
        })
        .await;
        let event = append(&app.state, &app.clock, failed_sign_in(1)).await;
        receiver.wait_for(1).await;
        app.clock.advance(Duration::seconds(6));
        receiver.wait_for(2).await;
        eventually("it is given up", || async { deliveries(&app.state, &event.id).await[0].status == "failed" }).await;
        app.clock.advance(Duration::minutes(30));
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        assert_eq!(receiver.count(), 2, "no attempt after giving up");
    }
);

db_test!(
    async fn retention_takes_undelivered_deliveries_with_their_event(backend) {
        let url = format!("http://127.0.0.1:{}/hook", closed_port());
        let app = spawn_app_with(backend, |s| with_hooks(s, vec![hook(&url, &[])])).await;
        let event = append(&app.state, &app.clock, failed_sign_in(1)).await;
        eventually("the first attempt failed", || async { deliveries(&app.state, &event.id).await[0].attempts == 1 })
            .await;
        app.clock.advance(Duration::days(91));
        portcullis::startup::housekeep(&app.state).await;
        // Housekeeping at +91 days may record events of its own (a scheduled key rotation):
        // the purged event is the one to look for.
        let kept = portcullis::store::audit::get(&app.state.db, &event.id).await.expect("event read");
        assert!(kept.is_none(), "the old event outlived its retention: {kept:?}");
        assert!(deliveries(&app.state, &event.id).await.is_empty(), "its delivery outlived it");
    }
);

/// An app started in-process that can be stopped (the shared helper runs until the test ends).
struct Node {
    state: AppState,
    clock: ManualClock,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A database two nodes share: the SQLite file in one data directory, or a fresh PostgreSQL one.
async fn shared_database(backend: Backend) -> (String, tempfile::TempDir) {
    let url = match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => fresh_postgres_database().await,
    };
    (url, tempfile::tempdir().unwrap())
}

impl Node {
    async fn start(database: &(String, tempfile::TempDir), hooks: Vec<WebhookSettings>) -> Node {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut settings = Settings::defaults().unwrap();
        settings.issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        settings.data_dir = database.1.path().to_path_buf();
        settings.database_url = Secret::new(database.0.clone());
        settings.secret_key = Secret::new(SECRET_KEY);
        with_hooks(&mut settings, hooks);
        let clock = ManualClock::new(OffsetDateTime::now_utc());
        let app = Application::build_on(settings, Arc::new(clock.clone()), listener).await.expect("node builds");
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Node { state, clock, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("node task").expect("node stopped cleanly");
    }
}

db_test!(
    async fn deliveries_pending_when_the_server_stops_arrive_after_it_restarts(backend) {
        let database = shared_database(backend).await;
        let port = closed_port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let first = Node::start(&database, vec![hook(&url, &[])]).await;
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(append(&first.state, &first.clock, failed_sign_in(n)).await.id);
        }
        eventually("an attempt failed", || async {
            count(&first.state, "audit_deliveries WHERE attempts >= 1").await >= 1
        })
        .await;
        first.stop().await;

        let receiver = Receiver::start_on(port).await;
        let second = Node::start(&database, vec![hook(&url, &[])]).await;
        second.clock.advance(Duration::seconds(30));
        let got = receiver.wait_for(3).await;
        let mut arrived: Vec<_> = got.iter().map(|d| d.event_id.clone()).collect();
        arrived.sort();
        assert_eq!(arrived, ids, "all three, each once");
        assert_eq!((receiver.rejected(), receiver.repeats()), (0, 0));
        second.stop().await;
    }
);

db_test!(
    async fn two_nodes_on_one_database_deliver_each_event_once(backend) {
        let database = shared_database(backend).await;
        let receiver = Receiver::start().await;
        let a = Node::start(&database, vec![hook(&receiver.url(), &[])]).await;
        let b = Node::start(&database, vec![hook(&receiver.url(), &[])]).await;
        for n in 0..40 {
            let node = if n % 2 == 0 { &a } else { &b };
            append(&node.state, &node.clock, failed_sign_in(n)).await;
        }
        receiver.wait_for(40).await;
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        assert_eq!(receiver.count(), 40);
        assert_eq!((receiver.rejected(), receiver.repeats()), (0, 0), "no event twice");
        a.stop().await;
        b.stop().await;
    }
);
