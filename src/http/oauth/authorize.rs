//! `/authorize` (GET and POST) and the consent step. Errors before the client and its exact
//! redirect URI are verified render a page; after that they go back to the client.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::paths;
use super::views::{ConsentPage, ScopeLine};
use crate::http::browser_error::BrowserError;
use crate::http::csp::with_form_action;
use crate::http::form::FormData;
use crate::http::login_redirect::login_url_for;
use crate::http::render::{MessagePage, chrome, render};
use crate::http::session::{BrowserSession, CSRF_FIELD};
use crate::i18n::{tr, tr_args};
use crate::oauth::authorize::{AuthorizationRequest, Decision, Params, Rejection, return_after_login};
use crate::oauth::error::{RedirectError, UnredirectableError};
use crate::state::AppState;

const PENDING_PREFIX: &str = "authz:";

fn params_from(body: &[u8]) -> Params {
    let form = FormData::parse(body);
    let (pairs, malformed) = form.into_parts(body);
    Params::new(pairs, malformed)
}

pub async fn authorize_get(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    authorize(state, session, params_from(uri.query().unwrap_or_default().as_bytes())).await
}

/// OIDC Core §3.1.2.1: the same request as a form post.
pub async fn authorize_post(
    State(state): State<AppState>,
    session: BrowserSession,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BrowserError> {
    if !FormData::is_form(&headers) {
        return Err(BrowserError::UnsupportedMediaType);
    }
    authorize(state, session, params_from(&body)).await
}

fn bad_request_page(error: &UnredirectableError) -> Response {
    let page = MessagePage {
        chrome: Default::default(),
        title: tr("msg-invalid-request-title"),
        message: tr_args("msg-invalid-request", &[("error", error)]),
        link: None,
    };
    render(StatusCode::BAD_REQUEST, &page)
}

/// The redirect URI the authorization request in `next` (a return address of the sign-in
/// pages) ends at, once its client and exact redirect URI check out; None for any other
/// address. The sign-in pages allow its origin in CSP `form-action`.
pub async fn redirect_uri_after(state: &AppState, next: &str) -> Option<String> {
    let query = next.strip_prefix(paths::AUTHORIZE)?.strip_prefix('?')?;
    match state.provider.authorization_request(&params_from(query.as_bytes())).await {
        Ok(req) => Some(req.redirect_uri),
        Err(Rejection::Redirect { redirect_uri, .. }) => Some(redirect_uri),
        Err(Rejection::Page(_) | Rejection::Internal(_)) => None,
    }
}

/// A redirect back to the client (303: right after GET and after a form post alike).
fn to_client(location: &str) -> Response {
    Redirect::to(location).into_response()
}

async fn authorize(state: AppState, session: BrowserSession, params: Params) -> Result<Response, BrowserError> {
    let provider = &state.provider;
    let req = match provider.authorization_request(&params).await {
        Ok(req) => req,
        Err(Rejection::Page(e)) => return Ok(bad_request_page(&e)),
        Err(Rejection::Internal(e)) => return Err(BrowserError::Internal(e)),
        Err(Rejection::Redirect { redirect_uri, state: st, error }) => {
            return Ok(to_client(&provider.error_redirect(&redirect_uri, st.as_deref(), &error)));
        }
    };
    let mut auth = session.auth().await?;
    let back = return_after_login(paths::AUTHORIZE, &params);
    if let Some(auth) = auth.as_mut() {
        // A sign-in the user just completed for this very request satisfies max_age and
        // prompt=login, whichever second the browser comes back in.
        auth.signed_in_for_this_request = session.take_signed_in_for(&back).await?;
    }
    let reject = |e: RedirectError| to_client(&provider.error_redirect(&req.redirect_uri, req.state.as_deref(), &e));
    match provider.decide(&req, auth.as_ref()).await? {
        Decision::Reject(e) => Ok(reject(e)),
        Decision::Login => {
            let reauth = auth.is_some();
            Ok(Redirect::to(&login_url_for(&back, reauth, req.login_hint.as_deref())).into_response())
        }
        Decision::Consent => {
            let Some(auth) = auth else { return Ok(reject(RedirectError::LoginRequired)) };
            let id = crate::secret::random_token();
            session.put(&format!("{PENDING_PREFIX}{id}"), &params.pairs()).await?;
            Ok(consent_page(&session, &req, &auth.user, id).await?)
        }
        Decision::Issue => {
            let Some(auth) = auth else { return Ok(reject(RedirectError::LoginRequired)) };
            issue(provider, &req, &auth, reject).await
        }
    }
}

/// Issues the code; an outage is a page (503), any other failure a `server_error` redirect.
async fn issue(
    provider: &crate::oauth::provider::Provider,
    req: &AuthorizationRequest,
    auth: &crate::oauth::authorize::SessionAuth,
    reject: impl Fn(RedirectError) -> Response,
) -> Result<Response, BrowserError> {
    match provider.issue_code(req, auth).await {
        Ok(location) => Ok(to_client(&location)),
        Err(e) if crate::http::outage::is_outage(&e) => Err(BrowserError::Internal(e)),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "issuing a code");
            Ok(reject(RedirectError::ServerError))
        }
    }
}

/// The message key describing a scope on the consent (and device) page.
pub(super) fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "scope-openid",
        "profile" => "scope-profile",
        "email" => "scope-email",
        "offline_access" => "scope-offline-access",
        _ => "scope-api",
    }
}

async fn consent_page(
    session: &BrowserSession,
    req: &AuthorizationRequest,
    user: &crate::identity::user::User,
    pending: String,
) -> Result<Response, BrowserError> {
    let page = ConsentPage {
        chrome: chrome(Some(user)),
        csrf: session.csrf_token().await?,
        client_name: req.client.display_name().to_string(),
        scopes: req.scope.iter().map(|s| ScopeLine { name: s.to_string(), description: describe(s) }).collect(),
        pending,
    };
    Ok(with_form_action(render(StatusCode::OK, &page), Some(&req.redirect_uri)))
}

/// POST /authorize/consent: the user's answer. The pending request is checked again.
pub async fn consent(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let pending = form.text("pending").unwrap_or_default();
    let stored: Option<Vec<(String, String)>> = session.take(&format!("{PENDING_PREFIX}{pending}")).await?;
    let Some(pairs) = stored.filter(|_| !pending.is_empty()) else {
        let page = MessagePage {
            chrome: Default::default(),
            title: tr("msg-request-expired-title"),
            message: tr("msg-request-expired"),
            link: None,
        };
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    };
    let provider = &state.provider;
    let req = match provider.authorization_request(&Params::new(pairs, vec![])).await {
        Ok(req) => req,
        Err(Rejection::Page(e)) => return Ok(bad_request_page(&e)),
        Err(Rejection::Internal(e)) => return Err(BrowserError::Internal(e)),
        Err(Rejection::Redirect { redirect_uri, state: st, error }) => {
            return Ok(to_client(&provider.error_redirect(&redirect_uri, st.as_deref(), &error)));
        }
    };
    let reject = |e: RedirectError| to_client(&provider.error_redirect(&req.redirect_uri, req.state.as_deref(), &e));
    let Some(auth) = session.auth().await? else { return Ok(reject(RedirectError::LoginRequired)) };
    if form.text("decision") != Ok("allow") {
        tracing::info!(client_id = %req.client.id, user_id = %auth.user.id, "consent denied");
        return Ok(reject(RedirectError::AccessDenied));
    }
    provider.remember_consent(&req, &auth.user).await?;
    issue(provider, &req, &auth, reject).await
}
