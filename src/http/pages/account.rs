//! Home, registration, login and logout.

use axum::Extension;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::cookie::{Cookie, SameSite};

use super::paths;
use super::views::{FieldErrors, HomePage, LoginPage, LogoutPage, RegisterPage};
use crate::http::browser_error::BrowserError;
use crate::http::csp::with_form_action;
use crate::http::form::FormData;
use crate::http::layers::ClientIp;
use crate::http::login_redirect::safe_next;
use crate::http::render::MessagePage;
use crate::http::render::{Chrome, chrome, render};
use crate::http::session::{BrowserSession, CSRF_FIELD, cookie_name};
use crate::i18n::tr;
use crate::identity::accounts::RegisterError;
use crate::identity::email::Email;
use crate::identity::login::{LoginAttempt, LoginError};
use crate::identity::password::Password;
use crate::identity::surface::Surface;
use crate::identity::user::{DisplayName, NewUser, Username};
use crate::oauth::logout::SignOut;
use crate::secret::Secret;
use crate::state::AppState;

const DEVICE_COOKIE: &str = "portcullis_device";
/// One message for unknown user, wrong password, disabled and throttled accounts.
const LOGIN_FAILED: &str = "The username or password is not correct. After several failed attempts, \
    sign-in from a new device is slowed down for a while: wait a little and try again.";

pub async fn home(session: BrowserSession) -> Result<Response, BrowserError> {
    let user = session.user().await?;
    Ok(render(StatusCode::OK, &HomePage { chrome: chrome(user.as_ref()) }))
}

pub async fn register_form(session: BrowserSession) -> Result<Response, BrowserError> {
    if session.user().await?.is_some() {
        return Ok(Redirect::to(paths::PROFILE).into_response());
    }
    let page = RegisterPage { csrf: session.csrf_token().await?, ..Default::default() };
    Ok(render(StatusCode::OK, &page))
}

pub async fn register(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(client_ip)): Extension<ClientIp>,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let mut errors = FieldErrors::default();
    let mut field = |name: &'static str| match form.text(name) {
        Ok(v) => Some(v.to_string()),
        Err(problem) => {
            errors.add(name, problem.message());
            None
        }
    };
    let (username, email, display_name, password) =
        (field("username"), field("email"), field("display_name"), field("password"));

    let username = username.and_then(|v| Username::parse(&v).map_err(|m| errors.add("username", m)).ok());
    let email = email.and_then(|v| Email::parse(&v).map_err(|m| errors.add("email", m)).ok());
    let display_name =
        display_name.and_then(|v| DisplayName::parse(&v).map_err(|m| errors.add("display_name", m)).ok());
    let context = [username.as_ref().map_or("", |u| u.as_str()), email.as_ref().map_or("", |e| e.as_str())];
    let password = password.and_then(|v| {
        Password::new_for(&v, state.accounts.password_policy(), &context)
            .map_err(|p| errors.add("password", p.to_string()))
            .ok()
    });

    let again = |errors: FieldErrors, form_error: Option<String>, status: StatusCode, csrf: String| {
        let page = RegisterPage {
            chrome: Chrome::default(),
            csrf,
            username: form.shown("username"),
            email: form.shown("email"),
            display_name: form.shown("display_name"),
            errors,
            form_error,
        };
        render(status, &page)
    };
    let csrf = session.csrf_token().await?;
    let (Some(username), Some(email), Some(display_name), Some(password)) = (username, email, display_name, password)
    else {
        return Ok(again(errors, None, StatusCode::BAD_REQUEST, csrf));
    };

    let new = NewUser { username, email, display_name, is_admin: false, email_verified: false };
    match state.accounts.register_from(new, password, client_ip, Surface::Pages).await {
        // A new account and a taken address get the same page: registration reveals nothing.
        Ok(_) => Ok(check_inbox()),
        Err(RegisterError::UsernameTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("username", tr("field-error-username-taken"));
            Ok(again(errors, None, StatusCode::CONFLICT, csrf))
        }
        Err(RegisterError::TooMany { retry_after_secs }) => {
            let message = format!(
                "Too many accounts were created from your network or on this site just now. Try again in {}.",
                minutes(retry_after_secs)
            );
            let res = again(FieldErrors::default(), Some(message), StatusCode::TOO_MANY_REQUESTS, csrf);
            Ok(with_retry_after(res, retry_after_secs))
        }
        Err(RegisterError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

/// The answer to every well-formed registration with a free username; it names nothing
/// the request did not, so a taken address cannot be told from a new one.
fn check_inbox() -> Response {
    let page = MessagePage {
        chrome: Chrome::default(),
        title: tr("msg-check-inbox-title"),
        message: tr("msg-check-inbox-register"),
        link: Some((paths::LOGIN, tr("nav-sign-in"))),
    };
    render(StatusCode::OK, &page)
}

/// GET /login. A signed-in user goes straight on, unless `reauth=1` asks for a fresh sign-in
/// (`prompt=login`, `max_age`). `login_hint` pre-fills the name.
pub async fn login_form(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    let query = FormData::from_query(uri.query());
    let next = query.text("next").ok().and_then(safe_next).unwrap_or(paths::PROFILE).to_string();
    let reauth = query.text("reauth").is_ok_and(|v| v == "1");
    if !reauth && session.user().await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let login_name = query.text("login_hint").unwrap_or_default().to_string();
    let page = LoginPage { csrf: session.csrf_token().await?, next, login_name, ..Default::default() };
    Ok(login_page(&state, StatusCode::OK, &page).await)
}

/// A page of the sign-in steps (login, its re-renders, the second factor) whose form returns
/// to `next`: when that resumes an authorization request, the redirect at the end of the
/// submission goes to the client, so its verified origin is allowed in CSP `form-action`.
pub async fn for_next(state: &AppState, next: &str, res: Response) -> Response {
    let client = crate::http::oauth::redirect_uri_after(state, next).await;
    with_form_action(res, client.as_deref())
}

/// The login page (first view or any re-render), see [`for_next`].
/// It loads the passkey script (conditional UI and the passkey button).
pub async fn login_page(state: &AppState, status: StatusCode, page: &LoginPage) -> Response {
    crate::http::csp::with_scripts(for_next(state, &page.next, render(status, page)).await)
}

pub async fn login(
    State(state): State<AppState>,
    session: BrowserSession,
    Extension(ClientIp(client_ip)): Extension<ClientIp>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let next = form.text("next").ok().and_then(safe_next).unwrap_or(paths::PROFILE).to_string();
    let mut errors = FieldErrors::default();
    let login_name = form.text("username").map_err(|p| errors.add("username", p.message())).unwrap_or_default();
    let password = form.text("password").map_err(|p| errors.add("password", p.message())).unwrap_or_default();
    let page = async |status: StatusCode, errors: FieldErrors, form_error: Option<String>, csrf: String| {
        let page = LoginPage {
            chrome: Chrome::default(),
            csrf,
            login_name: form.shown("username"),
            next: next.clone(),
            errors,
            form_error,
        };
        login_page(&state, status, &page).await
    };
    if !errors.is_empty() {
        return Ok(page(StatusCode::BAD_REQUEST, errors, None, session.csrf_token().await?).await);
    }

    let attempt = LoginAttempt {
        login_name: login_name.to_string(),
        password: Secret::new(password),
        client_ip,
        device_token: read_cookie(&headers, &cookie_name(state.settings.secure_cookies(), DEVICE_COOKIE))
            .map(Secret::new),
        surface: Surface::Pages,
    };
    match state.accounts.login(attempt).await {
        Ok(logged_in) if logged_in.second_factor_required => {
            let challenge = state.accounts.open_second_factor_challenge(logged_in.user.id).await?;
            let remember_device = !logged_in.device_known;
            session.begin_second_factor(&logged_in.user, &challenge.id, &next, remember_device).await?;
            Ok(Redirect::to(paths::LOGIN_SECOND_FACTOR).into_response())
        }
        Ok(logged_in) => {
            session.log_in(&logged_in.user, &["pwd"]).await?;
            session.signed_in_for(&next).await?;
            let mut res = Redirect::to(&next).into_response();
            if let Some(device) = &logged_in.new_device_token {
                set_device_cookie(&state, res.headers_mut(), device);
            }
            Ok(res)
        }
        Err(LoginError::InvalidCredentials) => {
            // The typed name is not shown again: the page is the same, byte for byte, for
            // every failed login in this session, whichever account was named.
            let view = LoginPage {
                csrf: session.csrf_token().await?,
                next: next.clone(),
                form_error: Some(LOGIN_FAILED.into()),
                ..Default::default()
            };
            Ok(login_page(&state, StatusCode::UNAUTHORIZED, &view).await)
        }
        Err(LoginError::NameLocked { retry_after_secs }) => {
            // Said alike for every name, known or not; the password was not checked.
            let message = format!(
                "Too many wrong passwords were tried for this name, so it is protected for now. Try again in {}, \
                 sign in from a device you used before, or reset your password.",
                minutes(retry_after_secs)
            );
            let view = LoginPage {
                csrf: session.csrf_token().await?,
                next: next.clone(),
                form_error: Some(message),
                ..Default::default()
            };
            Ok(with_retry_after(login_page(&state, StatusCode::TOO_MANY_REQUESTS, &view).await, retry_after_secs))
        }
        Err(LoginError::TooManyFromAddress { retry_after_secs }) => {
            let message = format!(
                "Too many failed sign-in attempts came from your network. Try again in {}.",
                minutes(retry_after_secs)
            );
            let csrf = session.csrf_token().await?;
            let res = page(StatusCode::TOO_MANY_REQUESTS, FieldErrors::default(), Some(message), csrf).await;
            Ok(with_retry_after(res, retry_after_secs))
        }
        Err(LoginError::EmailNotVerified) => {
            let message = "Confirm your e-mail address first: we have sent you a new link. Follow it, then sign in.";
            let csrf = session.csrf_token().await?;
            Ok(page(StatusCode::FORBIDDEN, FieldErrors::default(), Some(message.into()), csrf).await)
        }
        Err(LoginError::Internal(e)) => Err(BrowserError::Internal(e)),
    }
}

/// GET /logout asks; only the POST (with its CSRF token) signs out.
pub async fn logout_form(session: BrowserSession) -> Result<Response, BrowserError> {
    let user = session.user().await?;
    let page =
        LogoutPage { chrome: chrome(user.as_ref()), csrf: session.csrf_token().await?, signed_in: user.is_some() };
    Ok(render(StatusCode::OK, &page))
}

pub async fn logout(session: BrowserSession, form: FormData) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    session.log_out(SignOut::new(Surface::Pages)).await?;
    Ok(Redirect::to(paths::HOME).into_response())
}

/// "1 minute", "15 minutes": how long a client should wait, rounded up.
pub fn minutes(secs: i64) -> String {
    let minutes = (secs + 59) / 60;
    format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
}

pub fn with_retry_after(mut res: Response, secs: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
    res
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn set_device_cookie(state: &AppState, headers: &mut HeaderMap, token: &Secret) {
    let secure = state.settings.secure_cookies();
    let cookie = Cookie::build((cookie_name(secure, DEVICE_COOKIE), token.expose().to_string()))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::days(state.settings.login.device_cookie_days))
        .build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, value);
    }
}
