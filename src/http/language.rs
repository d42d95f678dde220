//! The HTTP edge of languages: extracts what a request says about its language (the
//! `ui_locales` of an authorization flow kept in the session, the language cookie, the
//! signed-in person's profile setting kept in the session, `Accept-Language`), lets
//! `i18n::negotiate` choose, and runs the request in that language. Also the language
//! picker: a POST form on every page (CSRF-checked, no JavaScript) that sets the cookie.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::browser_error::BrowserError;
use super::form::FormData;
use super::login_redirect::safe_next;
use super::picker::{PROFILE_KEY, PickerContext, PickerToken, UI_LOCALES_KEY};
use super::session::{BrowserSession, CSRF_FIELD, cookie_name};
use crate::i18n::negotiate::{self, Inputs};
use crate::i18n::{Lang, context};
use crate::state::AppState;

/// Where the picker posts.
pub const PATH: &str = "/language";
/// The language cookie (`__Host-` under https).
pub const COOKIE: &str = "portcullis_lang";
const YEAR_SECS: i64 = 365 * 24 * 3600;

/// One cookie's value from the request.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Outside the browser routes (no session): the cookie, then `Accept-Language`.
pub async fn negotiate_plain(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cookie = cookie_name(state.settings.secure_cookies(), COOKIE);
    let headers = req.headers();
    let lang = negotiate::choose(Inputs {
        cookie: read_cookie(headers, &cookie),
        accept_language: headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
        ..Default::default()
    });
    context::scope(lang, next.run(req)).await
}

/// On the browser routes (inside the session layer): the whole order, with `ui_locales`
/// of /authorize remembered in the session for the rest of that flow (a new /authorize
/// request replaces it, the picker clears it).
pub async fn negotiate_browser(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let mut ui_locales = None;
    let mut profile = None;
    let token = None;
    if let Some(session) = &session {
        if req.uri().path() == super::oauth::paths::AUTHORIZE {
            let sent = query_param(req.uri().query(), "ui_locales").filter(|v| negotiate::from_ui_locales(v).is_some());
            let kept = session.get::<String>(UI_LOCALES_KEY).await.ok().flatten();
            if sent != kept {
                let saved = match &sent {
                    Some(v) => session.insert(UI_LOCALES_KEY, v).await,
                    None => session.remove_value(UI_LOCALES_KEY).await.map(drop),
                };
                if let Err(err) = saved {
                    tracing::warn!(error = %err, "could not keep ui_locales in the session");
                }
            }
            ui_locales = sent;
        } else {
            ui_locales = session.get::<String>(UI_LOCALES_KEY).await.ok().flatten();
        }
        profile = session.get::<String>(PROFILE_KEY).await.ok().flatten();
    }
    let cookie = cookie_name(state.settings.secure_cookies(), COOKIE);
    let headers = req.headers();
    let lang = negotiate::choose(Inputs {
        ui_locales: ui_locales.as_deref(),
        cookie: read_cookie(headers, &cookie),
        profile: profile.as_deref(),
        accept_language: headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    });
    let here = match req.uri().path_and_query() {
        Some(pq) if req.method() == axum::http::Method::GET && safe_next(pq.as_str()).is_some() => pq.to_string(),
        _ => req.uri().path().to_string(),
    };
    let here = if safe_next(&here).is_some() && here != PATH { here } else { "/".to_string() };
    let picker = PickerContext { token: PickerToken::new(token), here };
    super::picker::scope(picker, context::scope(lang, next.run(req))).await
}

/// `POST /language`: the picker. Sets the cookie (a year), drops the flow's `ui_locales`,
/// saves the choice on the profile of whoever is signed in, and goes back.
pub async fn choose(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let lang =
        form.text("lang").ok().and_then(Lang::from_tag).ok_or(BrowserError::BadRequest("error-language-unknown"))?;
    let back = form.text("next").ok().and_then(safe_next).unwrap_or("/").to_string();
    session.take::<String>(UI_LOCALES_KEY).await?;
    if let Some(user) = session.user().await? {
        state.accounts.set_locale(user.id, Some(lang)).await?;
        session.put(PROFILE_KEY, &lang.tag()).await?;
    }
    let secure = state.settings.secure_cookies();
    let cookie = format!(
        "{}={}; Path=/; Max-Age={YEAR_SECS}; HttpOnly; SameSite=Lax{}",
        cookie_name(secure, COOKIE),
        lang.tag(),
        if secure { "; Secure" } else { "" }
    );
    let mut res = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(res)
}
