//! A user's browser sessions in the console: where they are signed in (device, IP, times),
//! with "sign out" per session and for all of them. `identity::devices` ends them (the
//! same code as the person's own "sign out" on their profile) and records one
//! `session.revoked` per session, with the administrator as actor.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ConsoleError;
use super::guard::AdminSession;
use super::paths;
use super::views::{SessionRow, SessionsPage, UserRow, when};
use crate::http::form::FormData;
use crate::http::render::render;
use crate::identity::devices::SessionError;
use crate::identity::user::{User, UserId};
use crate::state::AppState;

async fn find(state: &AppState, id: &str) -> Result<User, ConsoleError> {
    let id = UserId::parse(id).ok_or(ConsoleError::NotFound)?;
    state.accounts.find(id).await?.ok_or(ConsoleError::NotFound)
}

fn sessions_path(user: UserId) -> String {
    paths::fill(paths::USER_SESSIONS, "id", &user.to_string())
}

/// GET /admin/users/{id}/sessions
pub async fn list(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let user = find(&state, &id).await?;
    let sessions = state
        .devices
        .sessions(user.id, None)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            key: s.id,
            created: when(s.signed_in_at),
            last_seen: when(s.last_seen_at),
            ip: s.ip.unwrap_or_default(),
            device: s.device,
        })
        .collect();
    let notice = match FormData::from_query(uri.query()).shown("done").as_str() {
        "ended" => Some("The session has ended."),
        "gone" => Some("That session had already ended."),
        _ => None,
    };
    let page =
        SessionsPage { chrome: who.chrome(), csrf: who.csrf.clone(), user: UserRow::from(&user), sessions, notice };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/users/{id}/sessions/{session}/revoke: ends that one session.
pub async fn revoke(
    State(state): State<AppState>,
    who: AdminSession,
    Path((id, session)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let user = find(&state, &id).await?;
    let done = match state.devices.end_session(who.actor(), user.id, &session).await {
        Ok(()) => "ended",
        Err(SessionError::NotFound) => "gone",
        Err(SessionError::Internal(e)) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("{}?done={done}", sessions_path(user.id))).into_response())
}
