//! The dashboard, the signing keys (list with state, rotate now) and the audit log (a
//! filterable table, newest first, with an "older" link that carries the cursor).

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ConsoleError;
use super::guard::AdminSession;
use super::paths;
use super::views::{AuditPage, DashboardPage, EventRow, FieldErrors, KeyRow, KeysPage, when};
use crate::audit::{EventKind, Filter};
use crate::http::form::FormData;
use crate::http::render::render;
use crate::oauth::key_rotation::RotationPolicy;
use crate::state::AppState;

/// Events per page of the audit table.
const AUDIT_PAGE: u32 = 50;

pub async fn dashboard(State(state): State<AppState>, who: AdminSession) -> Result<Response, ConsoleError> {
    let overview = state.accounts.overview().await?;
    let clients = state.provider.clients().await?.len();
    Ok(render(StatusCode::OK, &DashboardPage { chrome: who.chrome(), overview, clients }))
}

pub async fn keys(
    State(state): State<AppState>,
    who: AdminSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let notice = (FormData::from_query(uri.query()).shown("done") == "rotated")
        .then(|| "New signing keys were published.".to_string());
    keys_page(&state, &who, notice).await
}

async fn keys_page(state: &AppState, who: &AdminSession, notice: Option<String>) -> Result<Response, ConsoleError> {
    let ring = state.provider.keys();
    let policy = RotationPolicy::from_settings(&state.settings);
    let dash = |t: Option<i64>| t.map_or_else(|| "-".to_string(), when);
    let keys = ring
        .statuses()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            kid: k.kid,
            alg: k.alg,
            state: k.state.name(),
            created: when(k.created_at),
            activates: when(k.activates_at),
            retires: dash(k.retires_at),
            removed: dash(k.removed_at),
        })
        .collect();
    let next_rotation = match ring.next_rotation(&policy).await? {
        Some(at) => when(at),
        None => "none (keys.rotate_every = 0: rotate by hand)".into(),
    };
    let page = KeysPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        keys,
        next_rotation,
        delay_secs: policy.publish_delay.max(0),
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/keys/rotate: new keys now, under the configured publish delay and retirement.
pub async fn rotate_keys(
    State(state): State<AppState>,
    who: AdminSession,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let policy = RotationPolicy::from_settings(&state.settings);
    let added = state.provider.keys().rotate(policy.publish_delay.max(0), policy.keep_retired, who.actor()).await?;
    tracing::info!(keys = added.len(), admin = %who.admin.id, "signing keys rotated from the console");
    Ok(Redirect::to(&format!("{}?done=rotated", paths::KEYS)).into_response())
}

/// `YYYY-MM-DD` as the Unix milliseconds of that day's start (UTC).
fn day_start_ms(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

pub async fn audit(
    State(state): State<AppState>,
    who: AdminSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let query = FormData::from_query(uri.query());
    let (user, kind, client) = (query.shown("user"), query.shown("type"), query.shown("client"));
    let (from, to, before) = (query.shown("from"), query.shown("to"), query.shown("before"));
    let mut errors = FieldErrors::default();
    let mut filter = Filter { limit: AUDIT_PAGE, ..Filter::default() };
    filter.user = Some(user.trim().to_string()).filter(|u| !u.is_empty());
    filter.client = Some(client.trim().to_string()).filter(|c| !c.is_empty());
    filter.before = Some(before.clone()).filter(|b| !b.is_empty());
    if !kind.is_empty() {
        match EventKind::parse(&kind) {
            Some(k) => filter.kinds = vec![k],
            None => errors.add("type", "Choose a type from the list."),
        }
    }
    for (name, text, target, shift) in [("from", &from, &mut filter.since_ms, 0), ("to", &to, &mut filter.until_ms, 1)]
    {
        if text.is_empty() {
            continue;
        }
        match day_start_ms(text) {
            // "To" includes its whole day: the bound is the next day's start.
            Some(ms) => *target = Some(ms + shift * 86_400_000),
            None => errors.add(name, "Give a date as YYYY-MM-DD."),
        }
    }
    if filter.before.as_deref().is_some_and(|b| !crate::audit::read::valid_cursor(b)) {
        errors.add("before", "That is not a position in the log.");
    }
    let page = if errors.is_empty() { Some(crate::audit::read::page(&state.db, &filter).await?) } else { None };
    let (events, cursor) = page.map(|p| (p.events, p.next_cursor)).unwrap_or_default();
    let older = cursor.map(|cursor| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("user", &user), ("type", &kind), ("client", &client), ("from", &from), ("to", &to)] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        q.append_pair("before", &cursor);
        format!("{}?{}", paths::AUDIT, q.finish())
    });
    let rows = events
        .into_iter()
        .map(|e| EventRow {
            at: when(e.at_ms.div_euclid(1000)),
            kind: e.kind,
            actor: e.actor.unwrap_or_else(|| "anonymous".into()),
            user_id: e.user_id.unwrap_or_default(),
            client_id: e.client_id.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            detail: if e.detail.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                e.detail.to_string()
            },
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let page = AuditPage {
        chrome: who.chrome(),
        user,
        kind,
        client,
        from,
        to,
        kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        events: rows,
        older,
        errors,
    };
    Ok(render(status, &page))
}
