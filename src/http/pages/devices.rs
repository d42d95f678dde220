//! The profile's "Where you're signed in" and "Connected apps" sections: what they show,
//! and their three forms (sign out one session, sign out everywhere else, remove an app's
//! access). Each form is a CSRF-checked POST that answers with a redirect to the profile and
//! a fixed notice; an id that matches nothing of this person's says so kindly.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;

use super::paths;
use crate::audit::Actor;
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::session::BrowserSession;
use crate::identity::connected_apps::{AppError, ConnectedApp};
use crate::identity::devices::{ActiveSession, SessionError};
use crate::identity::user::User;
use crate::state::AppState;

/// One row of "Where you're signed in".
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionView {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub signed_in: String,
    pub last_seen: String,
    pub current: bool,
}

/// One row of "Connected apps".
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub granted: String,
}

/// "2026-12-04 09:30 UTC".
fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
        .unwrap_or_default()
}

impl From<ActiveSession> for SessionView {
    fn from(s: ActiveSession) -> Self {
        Self {
            id: s.id,
            device: s.device,
            ip: s.ip.unwrap_or_else(|| "unknown".into()),
            signed_in: when(s.signed_in_at),
            last_seen: when(s.last_seen_at),
            current: s.current,
        }
    }
}

impl From<ConnectedApp> for AppView {
    fn from(a: ConnectedApp) -> Self {
        Self { client_id: a.client_id, name: a.name, scopes: a.scopes.join(", "), granted: when(a.granted_at) }
    }
}

/// The two lists for the profile page.
pub async fn lists(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
) -> Result<(Vec<SessionView>, Vec<AppView>), BrowserError> {
    let sessions = state.devices.sessions(user.id, session.session_id().as_ref()).await?;
    let apps = state.devices.apps(user.id).await?;
    Ok((sessions.into_iter().map(Into::into).collect(), apps.into_iter().map(Into::into).collect()))
}

/// The notices these forms lead to.
pub fn notice(code: &str) -> Option<&'static str> {
    match code {
        "session-ended" => Some("notice-session-ended"),
        "session-gone" => Some("notice-session-gone"),
        "others-ended" => Some("notice-others-ended"),
        "app-removed" => Some("notice-app-removed"),
        "app-gone" => Some("notice-app-gone"),
        _ => None,
    }
}

fn done(code: &str) -> Response {
    Redirect::to(&format!("{}?done={code}", paths::PROFILE)).into_response()
}

pub async fn end_session(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let id = form.text("session").unwrap_or_default();
    match state.devices.end_session(Actor::User(user.id), user.id, id).await {
        Ok(()) => Ok(done("session-ended")),
        Err(SessionError::NotFound) => Ok(done("session-gone")),
        Err(SessionError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    state.devices.end_other_sessions(Actor::User(user.id), user.id, session.session_id().as_ref()).await?;
    Ok(done("others-ended"))
}

pub async fn remove_app(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let client_id = form.text("client_id").unwrap_or_default();
    match state.devices.remove_app(Actor::User(user.id), user.id, client_id).await {
        Ok(()) => Ok(done("app-removed")),
        Err(AppError::NotFound) => Ok(done("app-gone")),
        Err(AppError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}
