//! The admin audit-log API: `GET /admin/api/events`, newest first, filtered by user, type,
//! client and time range, paged with an opaque cursor. Read-only: no route writes, changes or
//! deletes an event (other methods answer 405, other paths 404).

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::bearer::Admin;
use super::error::ApiError;
use crate::audit::read::{self, valid_cursor};
use crate::audit::{EventKind, Filter, MAX_PAGE};
use crate::http::form::FormData;
use crate::state::AppState;

/// Events per page when the request names no `limit`.
pub const DEFAULT_PAGE: u32 = 50;

/// GET /admin/api/events?user=&type=&client=&since=&until=&cursor=&limit=
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let filter = filter_of(uri.query())?;
    let page = read::page(&state.db, &filter).await?;
    Ok(Json(json!({ "events": page.events, "next_cursor": page.next_cursor })).into_response())
}

/// The query string as a [`Filter`], or a problem naming the first bad parameter.
fn filter_of(query: Option<&str>) -> Result<Filter, ApiError> {
    let form = FormData::from_query(query);
    let single = |name: &str| -> Result<Option<String>, ApiError> {
        match form.text(name) {
            Ok("") => Ok(None),
            Ok(v) => Ok(Some(v.to_string())),
            Err(problem) => Err(ApiError::field(name, problem.message())),
        }
    };
    let limit = match single("limit")? {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::field("limit", format!("A whole number from 1 to {MAX_PAGE}.")))?,
    };
    let cursor = single("cursor")?;
    if cursor.as_deref().is_some_and(|c| !valid_cursor(c)) {
        return Err(ApiError::field("cursor", "Not a cursor from an earlier page (use next_cursor as given)."));
    }
    Ok(Filter {
        user: single("user")?,
        kinds: kinds_of(query)?,
        client: single("client")?,
        since_ms: single("since")?.map(|v| timestamp_ms("since", &v)).transpose()?,
        until_ms: single("until")?.map(|v| timestamp_ms("until", &v)).transpose()?,
        before: cursor,
        limit,
    })
}

/// Every `type` value (the parameter may repeat, and each value may be a comma list).
fn kinds_of(query: Option<&str>) -> Result<Vec<EventKind>, ApiError> {
    let mut kinds = Vec::new();
    let values = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "type")
        .map(|(_, value)| value.into_owned());
    for value in values {
        for text in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let kind = EventKind::parse(text).ok_or_else(|| {
                ApiError::field("type", "Unknown event type (see the EventType list in /openapi.json).")
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    Ok(kinds)
}

/// An RFC 3339 timestamp as Unix milliseconds.
fn timestamp_ms(name: &str, text: &str) -> Result<i64, ApiError> {
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| ApiError::field(name, "An RFC 3339 timestamp, e.g. 2026-12-04T09:30:00Z."))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::field(name, "This timestamp is out of range."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_becomes_a_filter_and_every_bad_parameter_is_named() {
        let f =
            filter_of(Some("user=u1&type=sign_in.failed,token.issued&type=key.rotated&client=shop&limit=10")).unwrap();
        assert_eq!(f.user.as_deref(), Some("u1"));
        assert_eq!(f.client.as_deref(), Some("shop"));
        assert_eq!(f.kinds, vec![EventKind::SignInFailed, EventKind::TokenIssued, EventKind::KeyRotated]);
        assert_eq!(f.limit, 10);
        assert_eq!(filter_of(None).unwrap().limit, DEFAULT_PAGE);

        let f = filter_of(Some("since=2026-12-04T00:00:00Z&until=2026-12-04T00:00:01.5%2B00:00")).unwrap();
        assert_eq!(f.until_ms.unwrap() - f.since_ms.unwrap(), 1_500);

        for (query, field) in [
            ("type=no.such", "type"),
            ("type=sign_in.failed,,bogus", "type"),
            ("since=yesterday", "since"),
            ("until=2026-12-04", "until"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("limit=ten", "limit"),
            ("cursor=not-an-id", "cursor"),
            ("user=a&user=b", "user"),
            ("client=a%00b", "client"),
        ] {
            let e = filter_of(Some(query)).expect_err(query);
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(e.errors[0].0, field, "{query}");
        }
    }
}
