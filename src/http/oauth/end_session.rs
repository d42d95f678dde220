//! `/end-session`: RP-initiated logout. With a valid `id_token_hint` for the signed-in user
//! (or nobody signed in) the session ends at once; otherwise the user is asked to confirm,
//! so a third-party page cannot sign anyone out. The browser goes back to the client only to
//! a registered `post_logout_redirect_uri`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::views::EndSessionPage;
use crate::http::browser_error::BrowserError;
use crate::http::csp::with_form_action;
use crate::http::form::FormData;
use crate::http::render::{MessagePage, chrome, render};
use crate::http::session::{BrowserSession, CSRF_FIELD};
use crate::i18n::tr;
use crate::identity::surface::Surface;
use crate::oauth::client::Client;
use crate::oauth::logout::SignOut;
use crate::state::AppState;

pub async fn end_session_get(
    State(state): State<AppState>,
    session: BrowserSession,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, BrowserError> {
    end_session(state, session, FormData::from_query(uri.query())).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    session: BrowserSession,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BrowserError> {
    if !FormData::is_form(&headers) {
        return Err(BrowserError::UnsupportedMediaType);
    }
    end_session(state, session, FormData::parse(&body)).await
}

fn param(form: &FormData, name: &str) -> Option<String> {
    form.text(name).ok().filter(|v| !v.is_empty()).map(str::to_string)
}

fn signed_out(redirect: Option<String>) -> Response {
    match redirect {
        Some(location) => Redirect::to(&location).into_response(),
        None => {
            let page = MessagePage {
                chrome: Default::default(),
                title: tr("msg-signed-out-title"),
                message: tr("msg-signed-out"),
                link: Some(("/", tr("msg-home"))),
            };
            render(StatusCode::OK, &page)
        }
    }
}

async fn end_session(state: AppState, session: BrowserSession, form: FormData) -> Result<Response, BrowserError> {
    let (hint, client_id, target, st) = (
        param(&form, "id_token_hint"),
        param(&form, "client_id"),
        param(&form, "post_logout_redirect_uri"),
        param(&form, "state"),
    );
    let request = state
        .provider
        .end_session_request(hint.as_deref(), client_id.as_deref(), target.as_deref(), st.as_deref())
        .await?;
    let user = session.user().await?;
    let hint_matches = match (&request.hint_sub, &user) {
        (Some(sub), Some(user)) => *sub == user.id.to_string(),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if hint_matches || user.is_none() {
        session.log_out(rp_initiated(request.client.as_ref())).await?;
        return Ok(signed_out(request.redirect));
    }
    let page = EndSessionPage {
        chrome: chrome(user.as_ref()),
        csrf: session.csrf_token().await?,
        client_name: request.client.as_ref().map(|c| c.display_name().to_string()),
        client_id: request.client.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
        post_logout_redirect_uri: if request.redirect.is_some() { target.unwrap_or_default() } else { String::new() },
        state: st.unwrap_or_default(),
    };
    // Confirming ends in a redirect to the verified post-logout URI: allow it in form-action.
    Ok(with_form_action(render(StatusCode::OK, &page), request.redirect.as_deref()))
}

/// POST /end-session/confirm: the user said yes.
pub async fn confirm(
    State(state): State<AppState>,
    session: BrowserSession,
    form: FormData,
) -> Result<Response, BrowserError> {
    session.verify_csrf(form.text(CSRF_FIELD)).await?;
    let (client_id, target, st) =
        (param(&form, "client_id"), param(&form, "post_logout_redirect_uri"), param(&form, "state"));
    let request =
        state.provider.end_session_request(None, client_id.as_deref(), target.as_deref(), st.as_deref()).await?;
    session.log_out(rp_initiated(request.client.as_ref())).await?;
    Ok(signed_out(request.redirect))
}

/// A sign-out a client asked for, named in its audit event.
fn rp_initiated(client: Option<&Client>) -> SignOut {
    SignOut { client: client.map(|c| c.id.clone()), ..SignOut::new(Surface::OAuth) }
}
