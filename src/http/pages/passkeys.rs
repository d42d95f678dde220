//! Passkeys on the hosted pages: the profile's passkey list (`/profile/passkeys`: add,
//! rename, remove) and the passkey sign-in on `/login`. The ceremonies' begin and finish
//! are small JSON requests made by `static/passkeys.js` (same origin, with the session's
//! CSRF token in the body); the ceremony id stays in the server-side session, so an answer
//! only counts in the session that asked. Rename and remove are plain forms.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::account::set_device_cookie;
use super::paths;
use super::views::{PasskeyView, PasskeysPage};
use crate::http::browser_error::BrowserError;
use crate::http::csp::with_scripts;
use crate::http::form::FormData;
use crate::http::layers::ClientIp;
use crate::http::login_redirect::safe_next;
use crate::http::render::{chrome, render};
use crate::http::session::BrowserSession;
use crate::i18n::{tr, tr_args};
use crate::identity::passkeys::registration::PasskeyName;
use crate::identity::passkeys::{CeremonyId, PasskeyError};
use crate::identity::surface::Surface;
use crate::state::AppState;
use crate::store::passkeys::Removal;

/// The session keys of the waiting ceremonies (one of each kind per session).
const REGISTER_KEY: &str = "passkey_register";
const SIGN_IN_KEY: &str = "passkey_sign_in";
const SECOND_STEP_KEY: &str = "passkey_second_step";
/// Adding a passkey needs a sign-in at most this old (else: sign in again).
pub const RECENT_SIGN_IN_SECS: i64 = 300;

/// What the script sends to a `begin`.
#[derive(Deserialize)]
struct Begin {
    csrf_token: String,
}

/// What the script sends to a `finish`: the answer as `PublicKeyCredential.toJSON()` gives it.
#[derive(Deserialize)]
struct Finish {
    csrf_token: String,
    credential: serde_json::Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    next: String,
}

/// A JSON answer for the script: `{"error": "…"}` with a status, never a page.
fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|_| Box::new(problem(StatusCode::BAD_REQUEST, tr("passkey-err-not-understood"))))
}

/// A refused ceremony, said plainly; no session is created by any of these.
fn refused(e: PasskeyError) -> Result<Response, BrowserError> {
    let (status, message) = match e {
        PasskeyError::Internal(err) => return Err(BrowserError::Internal(err)),
        PasskeyError::TooManyFromAddress { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            tr_args("passkey-err-throttled", &[("wait", &super::account::minutes(retry_after_secs))]),
        ),
        PasskeyError::Busy => (StatusCode::SERVICE_UNAVAILABLE, tr("passkey-err-busy")),
        PasskeyError::NoCeremony | PasskeyError::Expired => (StatusCode::BAD_REQUEST, tr("passkey-err-no-ceremony")),
        other => (StatusCode::UNAUTHORIZED, tr_args("passkey-err-refused", &[("reason", &other)])),
    };
    Ok(problem(status, message))
}

async fn page(
    state: &AppState,
    session: &BrowserSession,
    user: &crate::identity::user::User,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, BrowserError> {
    let passkeys = state.accounts.passkeys_of(user.id).await?.iter().map(PasskeyView::from).collect();
    let view = PasskeysPage { chrome: chrome(Some(user)), csrf: session.csrf_token().await?, passkeys, notice };
    Ok(with_scripts(render(status, &view)))
}

/// POST /profile/passkeys/begin: the options for `navigator.credentials.create()`.
pub async fn register_begin(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let Some(user) = session.user().await? else {
        return Ok(problem(StatusCode::UNAUTHORIZED, tr("passkey-err-sign-in-first")));
    };
    let begin: Begin = match parse(&body) {
        Ok(b) => b,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(begin.csrf_token.as_str())).await?;
    let signed_in_at = session.auth().await?.map_or(0, |a| a.auth.auth_time);
    if state.clock.unix() - signed_in_at > RECENT_SIGN_IN_SECS {
        let again = format!("{}?reauth=1&next={}", paths::LOGIN, paths::PROFILE_PASSKEYS);
        let res = (
            StatusCode::FORBIDDEN,
            axum::Json(json!({
                "error": tr("passkey-err-reauth"),
                "reauth": again,
            })),
        );
        return Ok(res.into_response());
    }
    match state.accounts.begin_passkey_registration(&user).await {
        Ok(started) => {
            session.put(REGISTER_KEY, &started.ceremony.as_str()).await?;
            Ok(axum::Json(started.options).into_response())
        }
        Err(e) => refused(e),
    }
}

/// POST /profile/passkeys/finish: the authenticator's answer and the passkey's name.
pub async fn register_finish(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let Some(user) = session.user().await? else {
        return Ok(problem(StatusCode::UNAUTHORIZED, tr("passkey-err-sign-in-first")));
    };
    let finish: Finish = match parse(&body) {
        Ok(f) => f,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(finish.csrf_token.as_str())).await?;
    let name = match PasskeyName::parse(&finish.name) {
        Ok(name) => name,
        Err(message) => return Ok(problem(StatusCode::BAD_REQUEST, message)),
    };
    let Some(ceremony) = session.take::<String>(REGISTER_KEY).await? else {
        return refused(PasskeyError::NoCeremony);
    };
    let ceremony = CeremonyId::from_kept(ceremony);
    match state.accounts.finish_passkey_registration(&user, &ceremony, &name, &finish.credential).await {
        Ok(_) => Ok(axum::Json(json!({ "redirect": format!("{}?added=1", paths::PROFILE_PASSKEYS) })).into_response()),
        Err(PasskeyError::Rejected(reason)) => {
            Ok(problem(StatusCode::BAD_REQUEST, tr_args("passkey-err-not-added", &[("reason", &reason)])))
        }
        Err(e) => refused(e),
    }
}

/// POST /profile/passkeys/rename (a form: `id`, `name`).
pub async fn rename(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE_PASSKEYS, &form).await?;
    let id = form.text("id").unwrap_or_default();
    let name = match PasskeyName::parse(form.text("name").unwrap_or_default()) {
        Ok(name) => name,
        Err(message) => return page(&state, &session, &user, Some(message.into()), StatusCode::BAD_REQUEST).await,
    };
    if !state.accounts.rename_passkey(user.id, id, &name).await? {
        return Err(BrowserError::NotFound);
    }
    Ok(Redirect::to(&format!("{}?renamed=1", paths::PROFILE_PASSKEYS)).into_response())
}

/// POST /profile/passkeys/remove (a form: `id`).
pub async fn remove(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::PROFILE_PASSKEYS, &form).await?;
    match state.accounts.remove_passkey(&user, form.text("id").unwrap_or_default()).await? {
        Removal::Removed(_) => Ok(Redirect::to(&format!("{}?removed=1", paths::PROFILE_PASSKEYS)).into_response()),
        Removal::NotFound => Err(BrowserError::NotFound),
        Removal::LastFactor => {
            page(&state, &session, &user, Some(tr("passkeys-last-factor")), StatusCode::CONFLICT).await
        }
    }
}

/// GET /profile/passkeys: the list, with the add button (script) and rename/remove forms; a
/// redirect back to it names its notice by a fixed code (no text in the URL).
pub async fn list(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    let user = session.require_user(paths::PROFILE_PASSKEYS).await?;
    let query = FormData::from_query(uri.query());
    let notice = [
        ("added", "passkeys-added-notice"),
        ("renamed", "passkeys-renamed-notice"),
        ("removed", "passkeys-removed-notice"),
    ]
    .iter()
    .find(|(code, _)| query.text(code).is_ok())
    .map(|(_, key)| tr(key));
    page(&state, &session, &user, notice, StatusCode::OK).await
}

/// POST /login/passkey/begin: the options for `navigator.credentials.get()` (no username).
pub async fn sign_in_begin(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let begin: Begin = match parse(&body) {
        Ok(b) => b,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(begin.csrf_token.as_str())).await?;
    match state.accounts.begin_passkey_sign_in().await {
        Ok(started) => {
            session.put(SIGN_IN_KEY, &started.ceremony.as_str()).await?;
            Ok(axum::Json(started.options).into_response())
        }
        Err(e) => refused(e),
    }
}

/// POST /login/passkey/finish: the answer; on success the same session transition as a
/// password sign-in (new session id, methods, the request to resume), then `{"redirect"}`.
pub async fn sign_in_finish(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(client_ip)): Extension<ClientIp>,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let finish: Finish = match parse(&body) {
        Ok(f) => f,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(finish.csrf_token.as_str())).await?;
    let next = safe_next(&finish.next).unwrap_or(paths::PROFILE).to_string();
    let Some(ceremony) = session.take::<String>(SIGN_IN_KEY).await? else {
        return refused(PasskeyError::NoCeremony);
    };
    let ceremony = CeremonyId::from_kept(ceremony);
    match state.accounts.finish_passkey_sign_in(&ceremony, &finish.credential, client_ip, Surface::Pages).await {
        Ok(signed_in) => {
            session.log_in(&signed_in.user, &signed_in.amr).await?;
            session.signed_in_for(&next).await?;
            let mut res = axum::Json(json!({ "redirect": next })).into_response();
            set_device_cookie(&state, res.headers_mut(), &signed_in.new_device_token);
            Ok(res)
        }
        Err(e) => refused(e),
    }
}

/// POST /login/totp/passkey/begin: the second step with one of the account's passkeys.
pub async fn second_step_begin(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let begin: Begin = match parse(&body) {
        Ok(b) => b,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(begin.csrf_token.as_str())).await?;
    let Some(pending) = session.pending_second_factor().await? else {
        return Ok(problem(StatusCode::BAD_REQUEST, tr("passkey-err-password-again")));
    };
    match state.accounts.begin_passkey_second_factor(pending.user_id).await {
        Ok(started) => {
            session.put(SECOND_STEP_KEY, &started.ceremony.as_str()).await?;
            Ok(axum::Json(started.options).into_response())
        }
        Err(e) => refused(e),
    }
}

/// POST /login/totp/passkey/finish: as a right code would, completes the sign-in (new
/// session id, `amr` `pwd` plus the passkey's methods) and resumes the pending request.
pub async fn second_step_finish(
    State(state): State<AppState>,
    session: BrowserSession,
    body: Bytes,
) -> Result<Response, BrowserError> {
    let finish: Finish = match parse(&body) {
        Ok(f) => f,
        Err(res) => return Ok(*res),
    };
    session.verify_csrf(Ok::<_, ()>(finish.csrf_token.as_str())).await?;
    let Some(pending) = session.pending_second_factor().await? else {
        return Ok(problem(StatusCode::BAD_REQUEST, tr("passkey-err-password-again")));
    };
    let Some(ceremony) = session.take::<String>(SECOND_STEP_KEY).await? else {
        return refused(PasskeyError::NoCeremony);
    };
    let ceremony = CeremonyId::from_kept(ceremony);
    let finished =
        state.accounts.finish_passkey_second_factor(&pending.challenge, &ceremony, &finish.credential, Surface::Pages);
    match finished.await {
        Ok((user, _)) if user.id != pending.user_id => {
            session.clear_second_factor().await?;
            refused(PasskeyError::WrongUser)
        }
        Ok((user, methods)) => {
            let remember_device = session.take_remember_device().await?;
            let mut amr = vec!["pwd"];
            amr.extend(methods.iter().copied().filter(|m| *m != "mfa"));
            amr.push("mfa");
            session.log_in(&user, &amr).await?;
            session.signed_in_for(&pending.next).await?;
            let mut res = axum::Json(json!({ "redirect": pending.next })).into_response();
            if remember_device {
                let device = state.accounts.remember_device(user.id).await?;
                set_device_cookie(&state, res.headers_mut(), &device);
            }
            Ok(res)
        }
        Err(e) => refused(e),
    }
}
