//! The `/device` pages (RFC 8628 §3.3): a signed-in person enters the code a device shows
//! (or arrives with it from `verification_uri_complete`, and still confirms it), sees the
//! client and the scopes, and allows or denies. Every form is CSRF-checked; wrong codes are
//! throttled per person and per address (429 with `Retry-After`).

use axum::extract::{Extension, OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorize::describe;
use super::paths;
use super::views::{DeviceConfirmPage, DeviceEntryPage, ScopeLine};
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::layers::ClientIp;
use crate::http::render::{MessagePage, chrome, render};
use crate::http::session::BrowserSession;
use crate::i18n::{tr, tr_args};
use crate::identity::user::User;
use crate::oauth::device::{Approver, DeviceError};
use crate::state::AppState;

/// The message key of the entry form's error.
const UNKNOWN_CODE: &str = "device-unknown-code";

/// What of a typed code goes back into the form: letters, digits and hyphens, at most 16.
fn shown(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(16).collect()
}

async fn entry_page(
    session: &BrowserSession,
    user: &User,
    status: StatusCode,
    user_code: String,
    error: Option<&'static str>,
) -> Result<Response, BrowserError> {
    let page = DeviceEntryPage { chrome: chrome(Some(user)), csrf: session.csrf_token().await?, user_code, error };
    Ok(render(status, &page))
}

/// GET /device[?user_code=…]: the entry form, filled in when the link carried the code.
pub async fn entry_form(session: BrowserSession, OriginalUri(uri): OriginalUri) -> Result<Response, BrowserError> {
    let here = uri.path_and_query().map_or(paths::DEVICE, |pq| pq.as_str());
    let user = session.require_user(here).await?;
    let typed = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let prefill = shown(&typed);
    entry_page(&session, &user, StatusCode::OK, prefill, None).await
}

fn throttled(wait: i64) -> Response {
    let page = MessagePage {
        chrome: Default::default(),
        title: tr("device-throttled-title"),
        message: tr_args("device-throttled", &[("minutes", &((wait + 59) / 60))]),
        link: None,
    };
    let mut res = render(StatusCode::TOO_MANY_REQUESTS, &page);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// POST /device: the typed code, looked up; the confirmation page when it names a request.
pub async fn lookup(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::DEVICE, &form).await?;
    let typed = form.text("user_code").unwrap_or_default().to_string();
    match state.provider.device_prompt(&typed, user.id, ip).await {
        Ok(prompt) => {
            let page = DeviceConfirmPage {
                chrome: chrome(Some(&user)),
                csrf: session.csrf_token().await?,
                user_code: prompt.user_code,
                client_name: prompt.client.display_name().to_string(),
                scopes: prompt
                    .scope
                    .iter()
                    .map(|s| ScopeLine { name: s.to_string(), description: describe(s) })
                    .collect(),
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(DeviceError::Unknown | DeviceError::NeedsSecondFactor) => {
            entry_page(&session, &user, StatusCode::BAD_REQUEST, shown(&typed), Some(UNKNOWN_CODE)).await
        }
        Err(DeviceError::Throttled(wait)) => Ok(throttled(wait)),
        Err(DeviceError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

/// POST /device/decision: the person's answer, recorded once.
pub async fn decide(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    let user = session.signed_in_form(paths::DEVICE, &form).await?;
    let Some(auth) = session.auth().await? else {
        return Err(BrowserError::LoginRequired { next: paths::DEVICE.into() });
    };
    let typed = form.text("user_code").unwrap_or_default();
    let approve = form.text("decision") == Ok("allow");
    let who = Approver { user: user.id, auth_time: auth.auth.auth_time, amr: &auth.auth.amr };
    let (title, message) = match state.provider.answer_device(typed, who, approve).await {
        Ok(()) if approve => (tr("device-allowed-title"), tr("device-allowed")),
        Ok(()) => (tr("device-denied-title"), tr("device-denied")),
        Err(DeviceError::Unknown) => {
            return entry_page(&session, &user, StatusCode::BAD_REQUEST, String::new(), Some(UNKNOWN_CODE)).await;
        }
        Err(DeviceError::NeedsSecondFactor) => {
            let page = MessagePage {
                chrome: chrome(Some(&user)),
                title: tr("device-mfa-title"),
                message: tr("device-mfa"),
                link: Some((paths::DEVICE, tr("device-enter-again"))),
            };
            return Ok(render(StatusCode::FORBIDDEN, &page));
        }
        Err(DeviceError::Throttled(wait)) => return Ok(throttled(wait)),
        Err(DeviceError::Internal(e)) => return Err(BrowserError::Internal(e)),
    };
    let page = MessagePage { chrome: chrome(Some(&user)), title, message, link: None };
    Ok(render(StatusCode::OK, &page))
}
