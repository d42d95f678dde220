//! The seeds' account endpoints as JSON: register, login (with the second step for 2FA),
//! logout, password reset, and the caller's own profile. Same domain calls as the pages.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::bearer::ApiUser;
use super::error::ApiError;
use super::json::ApiJson;
use super::public_user;
use crate::http::layers::ClientIp;
use crate::http::session::BrowserSession;
use crate::identity::accounts::{ChangeError, RegisterError};
use crate::identity::email::Email;
use crate::identity::login::{LoginAttempt, LoginError};
use crate::identity::password::Password;
use crate::identity::recovery::{ResetError, ResetRequestError};
use crate::identity::second_factor::{ChallengeError, ChallengeId};
use crate::identity::surface::Surface;
use crate::identity::user::{DisplayName, NewUser, UserId, Username};
use crate::oauth::logout::SignOut;
use crate::secret::Secret;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    username: String,
    email: String,
    password: String,
    display_name: Option<String>,
}

/// 201 for a new account and for a taken address alike (no enumeration); 409 for a taken username.
pub async fn register(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Response, ApiError> {
    let mut errors = vec![];
    let username = Username::parse(&body.username).map_err(|m| errors.push(("username".into(), m.into()))).ok();
    let email = Email::parse(&body.email).map_err(|m| errors.push(("email".into(), m.into()))).ok();
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or_default())
        .map_err(|m| errors.push(("display_name".into(), m.into())))
        .ok();
    let context = [username.as_ref().map_or("", |u| u.as_str()), email.as_ref().map_or("", |e| e.as_str())];
    let password = Password::new_for(&body.password, state.accounts.password_policy(), &context)
        .map_err(|p| errors.push(("password".into(), p.to_string())))
        .ok();
    let (Some(username), Some(email), Some(display_name), Some(password)) = (username, email, display_name, password)
    else {
        return Err(ApiError::fields(errors));
    };
    let shown = json!({
        "username": username.as_str(),
        "email": email.as_str(),
        "display_name": display_name.as_str(),
        "email_verified": false,
        "detail": "Check your inbox: follow the link we sent to confirm the address.",
    });
    let new = NewUser { username, email, display_name, is_admin: false, email_verified: false };
    match state.accounts.register_from(new, password, ip, Surface::Api).await {
        Ok(_) => Ok((StatusCode::CREATED, Json(shown)).into_response()),
        Err(RegisterError::TooMany { retry_after_secs }) => {
            Err(ApiError::too_many(retry_after_secs, "Too many registrations just now; try again later."))
        }
        Err(RegisterError::UsernameTaken) => {
            let mut e = ApiError::field("username", "This username is taken.");
            e.status = StatusCode::CONFLICT;
            e.code = "username_taken";
            Err(e)
        }
        Err(RegisterError::Internal(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: Option<String>,
    email: Option<String>,
    password: String,
    /// The `device_token` an earlier successful login returned: like the pages' known-device
    /// cookie, it lets this client past its own account's failure lock.
    device_token: Option<String>,
}

fn login_failed() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        "The username or password is not correct, or the account is temporarily protected.",
    )
}

/// Shared by `/login` and `/auth/login`: password check; tokens, or the ticket for the second step.
async fn password_login(
    state: &AppState,
    ip: std::net::IpAddr,
    body: LoginBody,
) -> Result<(Option<crate::identity::user::User>, serde_json::Value), ApiError> {
    let name = match (body.username, body.email) {
        (Some(n), None) | (None, Some(n)) => n,
        _ => return Err(ApiError::field("username", "Send either username or email.")),
    };
    let attempt = LoginAttempt {
        login_name: name,
        password: Secret::new(body.password),
        client_ip: ip,
        device_token: body.device_token.filter(|t| !t.is_empty()).map(Secret::new),
        surface: Surface::Api,
    };
    match state.accounts.login(attempt).await {
        Ok(logged_in) if logged_in.second_factor_required => {
            // The device becomes known once the second factor is proven: the second step
            // hands out its token.
            let ticket = state.accounts.open_second_factor_challenge(logged_in.user.id).await?;
            Ok((None, json!({ "mfa_required": true, "mfa_token": ticket.token.expose() })))
        }
        Ok(logged_in) => {
            let tokens = state.provider.issue_api_tokens(&logged_in.user, &["pwd"], None).await?;
            let mut answer = serde_json::to_value(tokens).map_err(anyhow::Error::from)?;
            with_device_token(&mut answer, logged_in.new_device_token.as_ref());
            Ok((Some(logged_in.user), answer))
        }
        Err(LoginError::InvalidCredentials) => Err(login_failed()),
        Err(LoginError::NameLocked { retry_after_secs }) => Err(ApiError::too_many(
            retry_after_secs,
            "Too many wrong passwords were tried for this name; try again later, send a device_token from an \
             earlier sign-in, or reset the password.",
        )),
        Err(LoginError::TooManyFromAddress { retry_after_secs }) => {
            Err(ApiError::too_many(retry_after_secs, "Too many failed sign-ins from this address."))
        }
        Err(LoginError::EmailNotVerified) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "Confirm your e-mail address first; a new link was sent.",
        )),
        Err(LoginError::Internal(e)) => Err(e.into()),
    }
}

/// Adds a newly minted known-device token to a login answer.
fn with_device_token(answer: &mut serde_json::Value, token: Option<&Secret>) {
    if let (Some(token), Some(fields)) = (token, answer.as_object_mut()) {
        fields.insert("device_token".into(), json!(token.expose()));
    }
}

/// Tokens after a proven second factor, with a new known-device token.
async fn tokens_after_second_factor(
    state: &AppState,
    user: &crate::identity::user::User,
) -> Result<Response, ApiError> {
    let tokens = state.provider.issue_api_tokens(user, &["pwd", "otp"], None).await?;
    let mut answer = serde_json::to_value(tokens).map_err(anyhow::Error::from)?;
    let device = state.accounts.remember_device(user.id).await?;
    with_device_token(&mut answer, Some(&device));
    Ok(Json(answer).into_response())
}

pub async fn login(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let (_, answer) = password_login(&state, ip, body).await?;
    Ok(Json(answer).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaBody {
    mfa_token: String,
    code: String,
}

/// The second step: the ticket is single use, allows a few wrong codes and then dies.
async fn second_step(state: &AppState, body: MfaBody) -> Result<crate::identity::user::User, ApiError> {
    let ticket = ChallengeId::of_token(&Secret::new(body.mfa_token));
    match state.accounts.pass_second_factor_challenge(&ticket, &body.code, Surface::Api).await {
        Ok((user, _)) => Ok(user),
        Err(ChallengeError::AccountDisabled) => Err(login_failed()),
        Err(ChallengeError::InvalidCode { attempts_left }) => {
            let mut e = ApiError::unauthorized("invalid_code", "The code is not valid.");
            if attempts_left == 0 {
                e.detail =
                    "The code is not valid, and that was the last attempt for this mfa_token: sign in again.".into();
            }
            Err(e)
        }
        Err(ChallengeError::Over) => Err(ApiError::unauthorized(
            "invalid_mfa_token",
            "This mfa_token is unknown, expired, already used or out of attempts: sign in again with the password.",
        )),
        Err(ChallengeError::Internal(e)) => Err(e.into()),
    }
}

pub async fn login_mfa(State(state): State<AppState>, ApiJson(body): ApiJson<MfaBody>) -> Result<Response, ApiError> {
    let user = second_step(&state, body).await?;
    tokens_after_second_factor(&state, &user).await
}

/// Seed 2: the same login, which also opens a browser session (the session cookie).
pub async fn auth_login(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, answer) = password_login(&state, ip, body).await?;
    if let Some(user) = user {
        session.log_in(&user, &["pwd"]).await?;
    }
    Ok(Json(answer).into_response())
}

pub async fn auth_login_mfa(
    State(state): State<AppState>,
    session: BrowserSession,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<Response, ApiError> {
    let user = second_step(&state, body).await?;
    session.log_in(&user, &["pwd", "otp"]).await?;
    tokens_after_second_factor(&state, &user).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    refresh_token: Option<String>,
}

/// Revokes the caller's grant (from its access token and/or refresh token) and ends the
/// browser session the request carries, if any.
pub async fn logout(
    State(state): State<AppState>,
    session: BrowserSession,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: LogoutBody = if body.is_empty() { LogoutBody::default() } else { super::json::parse(&body)? };
    let claims = match super::bearer::bearer_token(&parts) {
        Some(token) => Some(super::bearer::api_claims(&state, &token).await?),
        None => None,
    };
    let has_session = session.is_signed_in().await;
    let access_grant = claims.as_ref().and_then(|c| c.gid.clone());
    if access_grant.is_none() && body.refresh_token.is_none() && !has_session {
        return Err(ApiError::unauthorized("missing_token", "Send the access token or the refresh token to sign out."));
    }
    let how = SignOut {
        user: claims.as_ref().and_then(|c| UserId::parse(&c.sub)),
        access_grant,
        refresh_token: body.refresh_token.map(Secret::new),
        ..SignOut::new(Surface::Api)
    };
    session.log_out(how).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    email: String,
}

/// 202 whatever the address: a link goes out only if it has an account.
pub async fn reset_request(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<Response, ApiError> {
    let email = Email::parse(&body.email).map_err(|m| ApiError::field("email", m))?;
    match state.accounts.request_password_reset(&email, ip).await {
        Ok(()) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "detail": "If an account exists for that address, a link is on its way." })),
        )
            .into_response()),
        Err(ResetRequestError::TooManyFromAddress { retry_after_secs }) => {
            Err(ApiError::too_many(retry_after_secs, "Too many reset requests from this address."))
        }
        Err(ResetRequestError::Internal(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    token: String,
    new_password: String,
}

pub async fn reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<Response, ApiError> {
    match state.accounts.reset_password(&body.token, &body.new_password).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(ResetError::InvalidLink) => {
            Err(ApiError::bad_request("invalid_token", "The reset token is invalid, used or expired."))
        }
        Err(ResetError::Policy(p)) => Err(ApiError::field("new_password", p.to_string())),
        Err(ResetError::Internal(e)) => Err(e.into()),
    }
}

pub async fn profile(State(state): State<AppState>, caller: ApiUser) -> Result<Response, ApiError> {
    Ok(Json(public_user(&state, &caller.user).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    display_name: Option<String>,
    email: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    /// `en`, `de`, `fr`; `""` clears the setting.
    locale: Option<String>,
}

/// Own profile: the display name freely; e-mail and password with `current_password`. A new
/// address takes effect through the link sent to it; a new password ends every grant,
/// including the caller's token.
pub async fn update_profile(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<Response, ApiError> {
    let user = caller.user;
    let needs_password = body.email.is_some() || body.new_password.is_some();
    let current = body.current_password.clone().map(Secret::new);
    if needs_password && current.is_none() {
        return Err(ApiError::field("current_password", "Required to change the e-mail address or the password."));
    }
    let name = body
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()
        .map_err(|m| ApiError::field("display_name", m))?;
    let email = body.email.as_deref().map(Email::parse).transpose().map_err(|m| ApiError::field("email", m))?;
    let locale = match body.locale.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(tag) => Some(Some(
            crate::i18n::Lang::from_tag(tag)
                .ok_or_else(|| ApiError::field("locale", "Use one of: en, de, fr (or \"\" for none)."))?,
        )),
    };
    let change_error = |e: ChangeError, field: &str| match e {
        ChangeError::WrongCurrentPassword => {
            ApiError::field("current_password", "The current password is not correct.")
        }
        ChangeError::Policy(p) => ApiError::field(field, p.to_string()),
        ChangeError::Internal(e) => e.into(),
    };
    if let (Some(new), Some(current)) = (&body.new_password, &current) {
        state
            .accounts
            .change_password(&user, current, &Secret::new(new.clone()), None)
            .await
            .map_err(|e| change_error(e, "new_password"))?;
    }
    if let (Some(email), Some(current)) = (&email, &current) {
        state.accounts.request_email_change(&user, current, email).await.map_err(|e| change_error(e, "email"))?;
    }
    if let Some(name) = &name {
        state.accounts.change_display_name(&user, name).await?;
    }
    if let Some(locale) = locale {
        state.accounts.set_locale(user.id, locale).await?;
    }
    let fresh = state.accounts.find(user.id).await?.ok_or_else(ApiError::invalid_token)?;
    Ok(Json(public_user(&state, &fresh).await?).into_response())
}
