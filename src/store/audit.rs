//! The `audit_events` table: append, read newest first with a cursor, read oldest first
//! after a point (the CLI's `--follow`), and purge past the retention period. There is no
//! update and no delete of single events (a trigger refuses UPDATE on both databases).

use std::sync::Mutex;

use anyhow::Context;
use sea_orm::FromQueryResult;
use uuid::{ContextV7, Timestamp, Uuid};

use super::{Db, Store, audit_deliveries, execute, query_all};
use crate::audit::webhook::EndpointId;
use crate::audit::{Event, Filter, MAX_PAGE, Recorded};

/// Ids are UUID v7 from the application clock, monotonic within the process (events of one
/// millisecond keep their order).
fn event_id(at_ms: i64) -> String {
    static CONTEXT: Mutex<ContextV7> = Mutex::new(ContextV7::new());
    let ms = u64::try_from(at_ms).unwrap_or_default();
    let context = CONTEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let ts = Timestamp::from_unix(&*context, ms / 1000, ((ms % 1000) as u32) * 1_000_000);
    Uuid::new_v7(ts).to_string()
}

/// Appends one event; on a transaction it is logged (target `audit`) once the transaction
/// commits, on the pool at once. With audit webhooks configured (`Db::with_audit_fanout`) it
/// also queues one delivery per endpoint whose type filter matches, in the same transaction
/// (on the pool it opens one for the two statements), so an event is announced exactly when
/// it was committed.
pub async fn append(s: &impl Store, at_ms: i64, event: &Event) -> anyhow::Result<Recorded> {
    let fanout = s.audit_fanout().cloned();
    let targets = fanout.as_deref().map(|f| f.targets(event.kind.as_str())).unwrap_or_default();
    match s.pool() {
        Some(db) if !targets.is_empty() => {
            let tx = db.begin().await?;
            let recorded = insert(&tx, at_ms, event, &targets).await?;
            tx.commit().await?;
            Ok(recorded)
        }
        _ => insert(s, at_ms, event, &targets).await,
    }
}

async fn insert(s: &impl Store, at_ms: i64, event: &Event, targets: &[&EndpointId]) -> anyhow::Result<Recorded> {
    let recorded = Recorded {
        id: event_id(at_ms),
        at_ms,
        kind: event.kind.as_str().to_string(),
        actor: event.actor.to_text(),
        user_id: event.user.map(|u| u.to_string()),
        client_id: event.client.clone(),
        ip: event.request.ip.map(|ip| ip.to_string()),
        user_agent: event.request.user_agent.clone(),
        request_id: event.request.request_id.clone(),
        detail: serde_json::Value::Object(event.detail.clone()),
    };
    execute(
        s,
        "INSERT INTO audit_events (id, at_ms, kind, actor, user_id, client_id, ip, user_agent, request_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            recorded.id.clone().into(),
            at_ms.into(),
            recorded.kind.clone().into(),
            recorded.actor.clone().into(),
            recorded.user_id.clone().into(),
            recorded.client_id.clone().into(),
            recorded.ip.clone().into(),
            recorded.user_agent.clone().into(),
            recorded.request_id.clone().into(),
            recorded.detail.to_string().into(),
        ],
    )
    .await
    .with_context(|| format!("recording the audit event {}", recorded.kind))?;
    audit_deliveries::enqueue(s, &recorded.id, targets, at_ms).await?;
    s.after_commit(recorded.clone());
    Ok(recorded)
}

/// Writes an event to the structured log (called once its transaction committed).
pub(crate) fn log(event: &Recorded) {
    tracing::info!(
        target: "audit",
        id = %event.id,
        kind = %event.kind,
        actor = event.actor.as_deref().unwrap_or("anonymous"),
        user_id = event.user_id.as_deref().unwrap_or(""),
        client_id = event.client_id.as_deref().unwrap_or(""),
        ip = event.ip.as_deref().unwrap_or(""),
        request_id = event.request_id.as_deref().unwrap_or(""),
        detail = %event.detail,
        "audit event"
    );
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: String,
    at_ms: i64,
    kind: String,
    actor: Option<String>,
    user_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    detail: String,
}

impl From<Row> for Recorded {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            at_ms: r.at_ms,
            kind: r.kind,
            actor: r.actor,
            user_id: r.user_id,
            client_id: r.client_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

const COLUMNS: &str = "id, at_ms, kind, actor, user_id, client_id, ip, user_agent, request_id, detail";

/// The conditions of `filter` as SQL, with their values; `$n` numbering continues from `values`.
fn conditions(filter: &Filter, values: &mut Vec<sea_orm::Value>) -> String {
    let mut clauses = Vec::new();
    let mut push = |clause: &str, value: sea_orm::Value, values: &mut Vec<sea_orm::Value>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(user) = &filter.user {
        push("user_id = ?", user.clone().into(), values);
    }
    if let Some(client) = &filter.client {
        push("client_id = ?", client.clone().into(), values);
    }
    if let Some(since) = filter.since_ms {
        push("at_ms >= ?", since.into(), values);
    }
    if let Some(until) = filter.until_ms {
        push("at_ms < ?", until.into(), values);
    }
    if let Some(before) = &filter.before {
        push("id < ?", before.clone().into(), values);
    }
    if !filter.kinds.is_empty() {
        let mut placeholders = Vec::new();
        for kind in &filter.kinds {
            values.push(kind.as_str().into());
            placeholders.push(format!("${}", values.len()));
        }
        clauses.push(format!("kind IN ({})", placeholders.join(", ")));
    }
    if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) }
}

/// One page, newest first (at most [`MAX_PAGE`]).
pub async fn list(db: &Db, filter: &Filter) -> anyhow::Result<Vec<Recorded>> {
    let mut values = Vec::new();
    let wh = conditions(filter, &mut values);
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let sql = format!("SELECT {COLUMNS} FROM audit_events{wh} ORDER BY id DESC LIMIT {limit}");
    let rows: Vec<Row> = query_all(db, &sql, values).await.context("reading audit events")?;
    Ok(rows.into_iter().map(Recorded::from).collect())
}

/// Events at or after `since_ms` that match `filter` (its cursor ignored), oldest first:
/// what `events tail --follow` polls (it drops ids it has already shown).
pub async fn since(db: &Db, filter: &Filter, since_ms: i64) -> anyhow::Result<Vec<Recorded>> {
    let filter = Filter { since_ms: Some(since_ms), before: None, ..filter.clone() };
    let mut values = Vec::new();
    let wh = conditions(&filter, &mut values);
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let sql = format!("SELECT {COLUMNS} FROM audit_events{wh} ORDER BY id ASC LIMIT {limit}");
    let rows: Vec<Row> = query_all(db, &sql, values).await.context("reading audit events")?;
    Ok(rows.into_iter().map(Recorded::from).collect())
}

/// One event by id (what a webhook delivery sends).
pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Recorded>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE id = $1");
    let row: Option<Row> = super::query_one(db, &sql, vec![id.into()]).await.context("reading an audit event")?;
    Ok(row.map(Recorded::from))
}

/// Retention: removes events older than `cutoff_ms` (their webhook deliveries, delivered or
/// not, go with them: the foreign key cascades). The only delete there is.
pub async fn purge_before(db: &Db, cutoff_ms: i64) -> anyhow::Result<u64> {
    db.execute("DELETE FROM audit_events WHERE at_ms < $1", vec![cutoff_ms.into()])
        .await
        .context("purging old audit events")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, EventKind};
    use crate::config::DatabaseSettings;
    use crate::identity::user::UserId;

    async fn db(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("audit.db").display());
        let settings = DatabaseSettings {
            max_connections: 2,
            acquire_timeout_secs: 5,
            migrate_on_start: true,
            group_commit: true,
        };
        let db = Db::connect(&url, &settings).await.unwrap();
        db.migrate().await.unwrap();
        db
    }

    #[tokio::test]
    async fn an_event_exists_exactly_when_its_transaction_commits() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir).await;
        let user = UserId::generate();
        let rolled_back = db.begin().await.unwrap();
        append(&rolled_back, 1_000, &Event::new(EventKind::PasswordChanged).user(user)).await.unwrap();
        drop(rolled_back);
        let committed = db.begin().await.unwrap();
        append(&committed, 2_000, &Event::new(EventKind::EmailChanged).actor(Actor::User(user)).user(user))
            .await
            .unwrap();
        committed.commit().await.unwrap();

        let events = list(&db, &Filter { limit: 10, ..Filter::default() }).await.unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].kind, "email.changed");
        assert_eq!(events[0].actor.as_deref(), Some(format!("user:{user}").as_str()));
    }

    #[tokio::test]
    async fn the_table_refuses_to_change_a_recorded_event() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir).await;
        append(&db, 1_000, &Event::new(EventKind::SignInFailed).detail("reason", "wrong_password")).await.unwrap();
        let changed = db.execute("UPDATE audit_events SET kind = 'sign_in.succeeded'", vec![]).await;
        assert!(changed.is_err(), "an UPDATE of the audit log went through");
        let events = list(&db, &Filter { limit: 10, ..Filter::default() }).await.unwrap();
        assert_eq!(events[0].kind, "sign_in.failed");
    }

    #[tokio::test]
    async fn pages_run_newest_first_and_the_cursor_continues_where_a_page_ended() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir).await;
        let (alice, bob) = (UserId::generate(), UserId::generate());
        for i in 0..5 {
            let who = if i % 2 == 0 { alice } else { bob };
            // Same millisecond: ids still keep the order of appending.
            append(&db, 5_000, &Event::new(EventKind::SignInSucceeded).user(who).detail("n", i)).await.unwrap();
        }
        append(&db, 6_000, &Event::new(EventKind::ClientCreated).client("shop")).await.unwrap();

        let alices = Filter { user: Some(alice.to_string()), limit: 2, ..Filter::default() };
        let first = list(&db, &alices).await.unwrap();
        let n: Vec<_> = first.iter().map(|e| e.detail["n"].as_i64().unwrap()).collect();
        assert_eq!(n, vec![4, 2]);
        let next = Filter { before: Some(first[1].id.clone()), ..alices };
        let second = list(&db, &next).await.unwrap();
        assert_eq!(second.iter().map(|e| e.detail["n"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0]);

        let by_kind = Filter { kinds: vec![EventKind::ClientCreated], limit: 10, ..Filter::default() };
        assert_eq!(list(&db, &by_kind).await.unwrap()[0].client_id.as_deref(), Some("shop"));
        let window = Filter { since_ms: Some(5_000), until_ms: Some(6_000), limit: 10, ..Filter::default() };
        assert_eq!(list(&db, &window).await.unwrap().len(), 5);
        let followed = since(&db, &Filter { limit: 10, ..Filter::default() }, 5_500).await.unwrap();
        assert_eq!(followed.len(), 1);

        assert_eq!(purge_before(&db, 6_000).await.unwrap(), 5);
        assert_eq!(list(&db, &Filter { limit: 10, ..Filter::default() }).await.unwrap().len(), 1);
    }
}
