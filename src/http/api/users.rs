//! The admin user API (`/users`): list and search, read, update, delete.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::bearer::Admin;
use super::error::ApiError;
use super::json::ApiJson;
use super::public_user;
use crate::http::form::FormData;
use crate::identity::admin::{AdminChanges, AdminError, MAX_PAGE};
use crate::identity::email::Email;
use crate::identity::user::{DisplayName, UserId};
use crate::state::AppState;

const DEFAULT_PAGE: u64 = 20;

fn number(query: &FormData, name: &str, default: u64) -> Result<u64, ApiError> {
    match query.text(name) {
        Ok("") => Ok(default),
        Ok(v) => v.parse::<u64>().map_err(|_| ApiError::field(name, "Must be a non-negative whole number.")),
        Err(_) => Err(ApiError::field(name, "Give it once.")),
    }
}

/// GET /users?limit=&offset=&q= (limit capped at 100).
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let query = FormData::from_query(uri.query());
    let limit = number(&query, "limit", DEFAULT_PAGE)?.clamp(1, MAX_PAGE);
    let offset = number(&query, "offset", 0)?;
    let q = query.text("q").map_err(|_| ApiError::field("q", "Give it once, as text."))?;
    let users = state.accounts.search_users(Some(q).filter(|q| !q.is_empty()), limit + 1, offset).await?;
    let more = users.len() as u64 > limit;
    let mut page = Vec::new();
    for user in users.iter().take(limit as usize) {
        page.push(public_user(&state, user).await?);
    }
    let next = if more { json!(offset + limit) } else { json!(null) };
    Ok(Json(json!({ "users": page, "limit": limit, "offset": offset, "next_offset": next })).into_response())
}

fn parse_id(id: &str) -> Result<UserId, ApiError> {
    UserId::parse(id).ok_or_else(ApiError::not_found)
}

pub async fn get(State(state): State<AppState>, _: Admin, Path(id): Path<String>) -> Result<Response, ApiError> {
    let user = state.accounts.find(parse_id(&id)?).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(public_user(&state, &user).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    display_name: Option<String>,
    email: Option<String>,
    is_admin: Option<bool>,
    disabled: Option<bool>,
}

/// PUT /users/{id}: display name, e-mail, admin flag, disabled flag. Disabling ends the
/// user's sessions and revokes every grant.
pub async fn update(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let changes = AdminChanges {
        display_name: body
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|m| ApiError::field("display_name", m))?,
        email: body.email.as_deref().map(Email::parse).transpose().map_err(|m| ApiError::field("email", m))?,
        is_admin: body.is_admin,
        disabled: body.disabled,
    };
    match state.accounts.admin_update(&actor, id, changes).await {
        Ok(user) => Ok(Json(public_user(&state, &user).await?).into_response()),
        Err(AdminError::NotFound) => Err(ApiError::not_found()),
        Err(AdminError::EmailTaken) => {
            let mut e = ApiError::field("email", "This address belongs to another account.");
            e.status = StatusCode::CONFLICT;
            e.code = "email_taken";
            Err(e)
        }
        Err(AdminError::OwnAccount) => Err(own_account()),
        Err(e) => Err(e.into_internal().into()),
    }
}

fn own_account() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "own_account",
        "Administrators cannot disable, demote or delete their own account.",
    )
}

/// DELETE /users/{id}: the account and everything that hangs off it.
pub async fn delete(
    State(state): State<AppState>,
    Admin(actor): Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.accounts.delete_user(&actor, parse_id(&id)?).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(AdminError::NotFound) => Err(ApiError::not_found()),
        Err(AdminError::OwnAccount) => Err(own_account()),
        Err(e) => Err(e.into_internal().into()),
    }
}
