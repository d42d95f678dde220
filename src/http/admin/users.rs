//! Users in the console: search, view, create, edit (display name, e-mail, admin flag), and
//! the actions on an account (verify e-mail, disable / enable, delete after a confirmation,
//! reset 2FA, sign out everywhere, send a password-reset mail). Each action is one call to
//! `identity::admin`, which owns the rules and writes the audit event; an action answers
//! 303 back to the user's page with a notice.

use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ConsoleError;
use super::guard::AdminSession;
use super::paths;
use super::views::{ConfirmPage, FieldErrors, UserNewPage, UserPage, UserRow, UsersPage};
use crate::http::form::FormData;
use crate::http::render::render;
use crate::identity::admin::{AdminChanges, AdminError, AdminNewUser, MAX_PAGE};
use crate::identity::email::Email;
use crate::identity::user::{DisplayName, User, UserId, Username};
use crate::state::AppState;

const PAGE: u64 = 50;

/// Notices after an action, by the `done` value of the redirect.
const NOTICES: &[(&str, &str)] = &[
    ("created", "The user was created; a link to set a password is on its way to them."),
    ("saved", "Changes saved."),
    ("unchanged", "Nothing to change."),
    ("verified", "The e-mail address is marked verified."),
    ("disabled", "The account is disabled: its sessions ended and its grants were revoked."),
    ("enabled", "The account is enabled again."),
    ("2fa-reset", "Two-factor authentication is off for this account; its owner was told."),
    ("signed-out", "Every browser session of this account has ended."),
    ("reset-sent", "A password-reset link is on its way."),
];

fn checked(form: &FormData, name: &str) -> bool {
    form.text(name) == Ok("on")
}

async fn find(state: &AppState, id: &str) -> Result<User, ConsoleError> {
    let id = UserId::parse(id).ok_or(ConsoleError::NotFound)?;
    state.accounts.find(id).await?.ok_or(ConsoleError::NotFound)
}

fn back(id: UserId, done: &str) -> Response {
    Redirect::to(&format!("{}?done={done}", paths::user(id))).into_response()
}

/// A refusal from the domain: a page for the ones a person can act on.
fn refused(e: AdminError) -> ConsoleError {
    match e {
        AdminError::NotFound => ConsoleError::NotFound,
        other => ConsoleError::from(other.into_internal()),
    }
}

/// GET /admin/users?q=&offset=
pub async fn list(
    State(state): State<AppState>,
    who: AdminSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let query = FormData::from_query(uri.query());
    let q = query.shown("q");
    let offset = query.shown("offset").parse::<u64>().unwrap_or(0);
    let found = state.accounts.search_users(Some(q.trim()).filter(|q| !q.is_empty()), PAGE + 1, offset).await?;
    let more = (found.len() as u64 > PAGE).then(|| {
        let next = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("offset", &(offset + PAGE).to_string())
            .finish();
        format!("{}?{next}", paths::USERS)
    });
    let users = found.iter().take(PAGE.min(MAX_PAGE) as usize).map(UserRow::from).collect();
    Ok(render(StatusCode::OK, &UsersPage { chrome: who.chrome(), q, users, more }))
}

pub async fn new_form(who: AdminSession) -> Result<Response, ConsoleError> {
    let page = UserNewPage { chrome: who.chrome(), csrf: who.csrf.clone(), ..Default::default() };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/users: a new account, with a link to set its password.
pub async fn create(
    State(state): State<AppState>,
    who: AdminSession,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let mut errors = FieldErrors::default();
    let username = Username::parse(&form.shown("username")).map_err(|m| errors.add("username", m)).ok();
    let email = Email::parse(&form.shown("email")).map_err(|m| errors.add("email", m)).ok();
    let display_name = DisplayName::parse(&form.shown("display_name")).map_err(|m| errors.add("display_name", m)).ok();
    let (admin_flag, verified) = (checked(&form, "is_admin"), checked(&form, "verified"));
    if let (Some(username), Some(email), Some(display_name)) = (username, email, display_name) {
        let new = AdminNewUser { username, email, display_name, is_admin: admin_flag, email_verified: verified };
        match state.accounts.admin_create_user(&who.actor(), new).await {
            Ok(user) => return Ok(back(user.id, "created")),
            Err(AdminError::UsernameTaken) => errors.add("username", "That username is taken."),
            Err(AdminError::EmailTaken) => errors.add("email", "An account with this address exists."),
            Err(e) => return Err(refused(e)),
        }
    }
    let page = UserNewPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        username: form.shown("username"),
        email: form.shown("email"),
        display_name: form.shown("display_name"),
        admin_flag,
        verified,
        errors,
    };
    Ok(render(StatusCode::BAD_REQUEST, &page))
}

async fn user_page(
    state: &AppState,
    who: &AdminSession,
    user: &User,
    status: StatusCode,
    notice: Option<&'static str>,
    edit: Option<(&FormData, FieldErrors, Option<String>)>,
) -> Result<Response, ConsoleError> {
    let (display_name, email, admin_flag, errors, form_error) = match edit {
        Some((form, errors, form_error)) => {
            (form.shown("display_name"), form.shown("email"), checked(form, "is_admin"), errors, form_error)
        }
        None => (user.display_name.clone(), user.email.clone(), user.is_admin, FieldErrors::default(), None),
    };
    let page = UserPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        user: UserRow::from(user),
        mfa_enabled: state.accounts.mfa_enabled(user.id).await?,
        is_self: user.id == who.admin.id,
        notice,
        form_error,
        display_name,
        email,
        admin_flag,
        errors,
    };
    Ok(render(status, &page))
}

pub async fn show(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ConsoleError> {
    let user = find(&state, &id).await?;
    let done = FormData::from_query(uri.query()).shown("done");
    let notice = NOTICES.iter().find(|(key, _)| *key == done).map(|(_, text)| *text);
    user_page(&state, &who, &user, StatusCode::OK, notice, None).await
}

/// POST /admin/users/{id}: display name, e-mail address, admin flag.
pub async fn update(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let user = find(&state, &id).await?;
    let mut errors = FieldErrors::default();
    let display_name = DisplayName::parse(&form.shown("display_name")).map_err(|m| errors.add("display_name", m)).ok();
    let email = Email::parse(&form.shown("email")).map_err(|m| errors.add("email", m)).ok();
    // The own account's checkbox is shown disabled (and so never sent): it stays as it is.
    let is_admin = if user.id == who.admin.id { None } else { Some(checked(&form, "is_admin")) };
    let mut form_error = None;
    if errors.is_empty() {
        let changes = AdminChanges { display_name, email, is_admin, disabled: None };
        match state.accounts.admin_update(&who.actor(), user.id, changes).await {
            Ok(_) => return Ok(back(user.id, "saved")),
            Err(AdminError::EmailTaken) => errors.add("email", "This address belongs to another account."),
            Err(AdminError::OwnAccount) => form_error = Some("You cannot remove your own administrator role.".into()),
            Err(e) => return Err(refused(e)),
        }
    }
    user_page(&state, &who, &user, StatusCode::BAD_REQUEST, None, Some((&form, errors, form_error))).await
}

/// The user's page again with the reason an action was refused, or the error as it is.
async fn action_refused(
    state: &AppState,
    who: &AdminSession,
    user: &User,
    form: &FormData,
    e: AdminError,
) -> Result<Response, ConsoleError> {
    let message = match e {
        AdminError::OwnAccount => "You cannot disable, demote or delete your own account.",
        AdminError::Disabled => "The account is disabled: enable it before sending a reset link.",
        other => return Err(refused(other)),
    };
    let edit = Some((form, FieldErrors::default(), Some(message.to_string())));
    user_page(state, who, user, StatusCode::CONFLICT, None, edit).await
}

/// A one-button action on an account: the CSRF check, the user, then `act`, which answers
/// the `done` notice to show.
macro_rules! account_action {
    ($(#[$doc:meta])* $name:ident, |$state:ident, $actor:ident, $id:ident| $act:expr) => {
        $(#[$doc])*
        pub async fn $name(
            State($state): State<AppState>,
            who: AdminSession,
            Path(id): Path<String>,
            form: FormData,
        ) -> Result<Response, ConsoleError> {
            who.form(&form).await?;
            let user = find(&$state, &id).await?;
            let ($id, $actor) = (user.id, who.actor());
            let outcome: Result<&'static str, AdminError> = $act;
            match outcome {
                Ok(done) => Ok(back($id, done)),
                Err(e) => action_refused(&$state, &who, &user, &form, e).await,
            }
        }
    };
}

account_action!(
    /// POST /admin/users/{id}/verify-email
    verify_email,
    |state, actor, id| state.accounts.admin_verify_email(&actor, id).await.map(|_| "verified")
);
account_action!(
    /// POST /admin/users/{id}/disable: sessions end and grants are revoked at once.
    disable,
    |state, actor, id| state
        .accounts
        .admin_update(&actor, id, AdminChanges { disabled: Some(true), ..Default::default() })
        .await
        .map(|_| "disabled")
);
account_action!(
    /// POST /admin/users/{id}/enable
    enable,
    |state, actor, id| state
        .accounts
        .admin_update(&actor, id, AdminChanges { disabled: Some(false), ..Default::default() })
        .await
        .map(|_| "enabled")
);
account_action!(
    /// POST /admin/users/{id}/reset-2fa
    reset_second_factor,
    |state, actor, id| state.accounts.reset_second_factor(&actor, id).await.map(|done| if done { "2fa-reset" } else { "unchanged" })
);
account_action!(
    /// POST /admin/users/{id}/revoke-sessions
    revoke_sessions,
    |state, actor, id| state.devices.end_other_sessions(actor, id, None).await.map(|_| "signed-out").map_err(AdminError::Internal)
);
account_action!(
    /// POST /admin/users/{id}/send-reset
    send_reset,
    |state, actor, id| state.accounts.admin_send_password_reset(&actor, id).await.map(|_| "reset-sent")
);

/// GET /admin/users/{id}/delete: the confirmation step.
pub async fn delete_confirm(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let user = find(&state, &id).await?;
    let page = ConfirmPage {
        chrome: who.chrome(),
        csrf: who.csrf.clone(),
        title: format!("Delete {}?", user.username),
        message: format!(
            "The account {} ({}) and everything attached to it (sessions, grants, tokens, consents) will be \
             deleted. This cannot be undone.",
            user.username, user.email
        ),
        action: paths::fill(paths::USER_DELETE, "id", &user.id.to_string()),
        button: "Delete the account",
        back: paths::user(user.id),
    };
    Ok(render(StatusCode::OK, &page))
}

/// POST /admin/users/{id}/delete (from the confirmation page: `confirm=yes`).
pub async fn delete(
    State(state): State<AppState>,
    who: AdminSession,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    who.form(&form).await?;
    let user = find(&state, &id).await?;
    if form.text("confirm") != Ok("yes") {
        return Ok(Redirect::to(&paths::fill(paths::USER_DELETE, "id", &user.id.to_string())).into_response());
    }
    match state.accounts.delete_user(&who.actor(), user.id).await {
        Ok(()) => Ok(Redirect::to(&format!("{}?done=deleted", paths::USERS)).into_response()),
        Err(e) => action_refused(&state, &who, &user, &form, e).await,
    }
}
