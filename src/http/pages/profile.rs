//! The profile page: view the account, edit the display name, change the password or the
//! e-mail address (both need the current password); where the person is signed in and the
//! apps they let in are shown from `devices`.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use time::format_description::well_known::Iso8601;

use super::paths;
use super::views::{FieldErrors, ProfilePage};
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::render::chrome;
use crate::http::render::render;
use crate::http::session::BrowserSession;
use crate::i18n::tr;
use crate::identity::accounts::ChangeError;
use crate::identity::email::Email;
use crate::identity::user::{DisplayName, User};
use crate::secret::Secret;
use crate::state::AppState;

/// Notices after a redirect, chosen by a fixed code so no text travels in the URL.
fn notice(code: &str) -> Option<&'static str> {
    match code {
        "name" => Some("notice-name-saved"),
        "password" => Some("notice-password-changed"),
        "email" => Some("notice-email-link-sent"),
        "verification-sent" => Some("notice-verification-sent"),
        "2fa-off" => Some("notice-2fa-off"),
        "verification-throttled" => Some("notice-verification-throttled"),
        "language" => Some("notice-language-saved"),
        other => super::devices::notice(other),
    }
}

async fn page(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
    errors: FieldErrors,
) -> Result<ProfilePage, BrowserError> {
    let member_since = time::OffsetDateTime::from_unix_timestamp(user.created_at)
        .ok()
        .and_then(|t| t.date().format(&Iso8601::DATE).ok())
        .unwrap_or_default();
    let (sessions, apps) = super::devices::lists(state, session, user).await?;
    Ok(ProfilePage {
        chrome: chrome(Some(user)),
        csrf: session.csrf_token().await?,
        username: user.username.clone(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        display_name: user.display_name.clone(),
        member_since,
        notice: None,
        pending_email: state.accounts.pending_email_change(user).await?,
        new_email: String::new(),
        mfa_enabled: state.accounts.mfa_enabled(user.id).await?,
        recovery_codes_left: state.accounts.recovery_codes_left(user.id).await?,
        sessions,
        apps,
        errors,
        locale: user.locale.map_or("", |l| l.tag()),
    })
}

/// POST /profile/language: the person's language for pages and mail (empty: none, the
/// browser decides); this session switches at once, the picker's cookie is dropped so the
/// setting shows.
pub async fn change_language(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let raw = form.text("locale").unwrap_or_default();
    let locale = match raw {
        "" => None,
        tag => Some(crate::i18n::Lang::from_tag(tag).ok_or(BrowserError::BadRequest("error-language-unknown"))?),
    };
    state.accounts.set_locale(user.id, locale).await?;
    match locale {
        Some(lang) => session.put(crate::http::picker::PROFILE_KEY, &lang.tag()).await?,
        None => {
            session.take::<String>(crate::http::picker::PROFILE_KEY).await?;
        }
    }
    let mut res = done("language");
    let secure = state.settings.secure_cookies();
    let name = crate::http::session::cookie_name(secure, crate::http::language::COOKIE);
    let clear = format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", if secure { "; Secure" } else { "" });
    if let Ok(value) = axum::http::HeaderValue::from_str(&clear) {
        res.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    Ok(res)
}

/// The profile page again, with errors beside the fields of one of its forms.
pub async fn profile_with_errors(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
    errors: FieldErrors,
) -> Result<Response, BrowserError> {
    Ok(render(StatusCode::BAD_REQUEST, &page(state, session, user, errors).await?))
}

/// The profile page again with one message beside one field.
pub async fn profile_with_field_error(
    state: &AppState,
    session: &BrowserSession,
    user: &User,
    field: &'static str,
    message: &str,
) -> Result<Response, BrowserError> {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    profile_with_errors(state, session, user, errors).await
}

fn done(code: &str) -> Response {
    Redirect::to(&format!("{}?done={code}", paths::PROFILE)).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    let user = session.require_user(paths::PROFILE).await?;
    let query = FormData::from_query(uri.query());
    let mut view = page(&state, &session, &user, FieldErrors::default()).await?;
    view.notice = query.text("done").ok().and_then(notice);
    Ok(render(StatusCode::OK, &view))
}

pub async fn update_display_name(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let parsed = form.text("display_name").map_err(|p| p.message()).and_then(DisplayName::parse);
    match parsed {
        Ok(name) => {
            state.accounts.change_display_name(&user, &name).await?;
            Ok(done("name"))
        }
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("display_name", message);
            let mut view = page(&state, &session, &user, errors).await?;
            view.display_name = form.shown("display_name");
            Ok(render(StatusCode::BAD_REQUEST, &view))
        }
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let mut errors = FieldErrors::default();
    let mut field = |name: &'static str| form.text(name).map_err(|p| errors.add(name, p.message())).unwrap_or_default();
    let (current, new, confirm) = (field("current_password"), field("new_password"), field("confirm_password"));
    if errors.is_empty() && new != confirm {
        errors.add("confirm_password", tr("field-error-new-passwords-differ"));
    }
    if errors.is_empty() {
        let result = state
            .accounts
            .change_password(&user, &Secret::new(current), &Secret::new(new), session.id().map(Into::into))
            .await;
        match result {
            Ok(()) => {
                session.cycle().await?;
                return Ok(done("password"));
            }
            Err(ChangeError::WrongCurrentPassword) => {
                errors.add("current_password", tr("field-error-current-password"))
            }
            Err(ChangeError::Policy(problem)) => errors.add("new_password", problem.to_string()),
            Err(ChangeError::Internal(e)) => return Err(BrowserError::Internal(e)),
        }
    }
    Ok(render(StatusCode::BAD_REQUEST, &page(&state, &session, &user, errors).await?))
}

pub async fn change_email(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE, &form).await?;
    let mut errors = FieldErrors::default();
    let email = match form.text("email") {
        Ok(raw) => Email::parse(raw).map_err(|m| errors.add("email", m)).ok(),
        Err(p) => {
            errors.add("email", p.message());
            None
        }
    };
    let current = form.text("email_current_password").map_err(|p| errors.add("email_current_password", p.message()));
    if let (Some(email), Ok(current)) = (email, current) {
        match state.accounts.request_email_change(&user, &Secret::new(current), &email).await {
            Ok(()) => return Ok(done("email")),
            Err(ChangeError::WrongCurrentPassword) => {
                errors.add("email_current_password", tr("field-error-current-password"))
            }
            Err(ChangeError::Policy(_)) => {}
            Err(ChangeError::Internal(e)) => return Err(BrowserError::Internal(e)),
        }
    }
    let mut view = page(&state, &session, &user, errors).await?;
    view.new_email = form.shown("email");
    Ok(render(StatusCode::BAD_REQUEST, &view))
}
