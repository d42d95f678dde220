//! A person's sessions and connected apps in the JSON API (`/profile/sessions`,
//! `/profile/apps`): the same domain calls as the profile page. "Current" is the browser
//! session the request carries (its cookie), if any; a caller with only a token has none, so
//! `end-others` then ends every browser session of the account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bearer::ApiUser;
use super::error::ApiError;
use crate::audit::Actor;
use crate::http::session::BrowserSession;
use crate::identity::connected_apps::AppError;
use crate::identity::devices::SessionError;
use crate::state::AppState;

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::NotFound => ApiError::not_found(),
            SessionError::Internal(e) => e.into(),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => ApiError::not_found(),
            AppError::Internal(e) => e.into(),
        }
    }
}

/// GET /profile/sessions
pub async fn sessions(
    State(state): State<AppState>,
    ApiUser { user }: ApiUser,
    session: BrowserSession,
) -> Result<Response, ApiError> {
    let list = state.devices.sessions(user.id, session.session_id().as_ref()).await?;
    Ok(Json(json!({ "sessions": list })).into_response())
}

/// DELETE /profile/sessions/{id}
pub async fn end_session(
    State(state): State<AppState>,
    ApiUser { user }: ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.devices.end_session(Actor::User(user.id), user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// POST /profile/sessions/end-others
pub async fn end_other_sessions(
    State(state): State<AppState>,
    ApiUser { user }: ApiUser,
    session: BrowserSession,
) -> Result<Response, ApiError> {
    let keep = session.session_id();
    let ended = state.devices.end_other_sessions(Actor::User(user.id), user.id, keep.as_ref()).await?;
    Ok(Json(json!({ "ended": ended })).into_response())
}

/// GET /profile/apps
pub async fn apps(State(state): State<AppState>, ApiUser { user }: ApiUser) -> Result<Response, ApiError> {
    Ok(Json(json!({ "apps": state.devices.apps(user.id).await? })).into_response())
}

/// DELETE /profile/apps/{client_id}
pub async fn remove_app(
    State(state): State<AppState>,
    ApiUser { user }: ApiUser,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    state.devices.remove_app(Actor::User(user.id), user.id, &client_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
