//! Rendering a page, and what the pages of every browser surface (hosted pages, OAuth
//! browser endpoints, error pages) share: the layout's chrome and the one-message pages.
//!
//! Every page goes through [`render`]: from the operator's override of its template when there
//! is one (`crate::branding::overrides`), else from the compiled askama template. The brand of
//! the request (set by [`brand_scope`] around every request) reaches the layout through
//! [`Chrome`].

use std::sync::Arc;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::branding::{BrandView, Branding};
use crate::i18n::Lang;
use crate::identity::user::User;
use crate::state::AppState;

tokio::task_local! {
    /// The brand of the request being handled, set by [`brand_scope`].
    static BRANDING: Arc<Branding>;
}

/// Runs the rest of the request with the server's brand in scope, so [`Chrome`] and [`render`]
/// see it without every handler passing it along.
pub async fn brand_scope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    BRANDING.scope(state.branding.clone(), next.run(req)).await
}

fn current_brand() -> Arc<BrandView> {
    BRANDING.try_with(|b| b.view.clone()).unwrap_or_else(|_| Branding::default().view)
}

/// What the layout around every page needs.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    /// The signed-in user's name, for the navigation.
    pub user_name: Option<String>,
    /// The page's language (the request's, see `http::language`).
    pub lang: Lang,
    /// The session's CSRF token for the language picker, once the page has one.
    #[serde(skip)]
    pub picker: super::picker::PickerToken,
    /// The path the language picker returns to.
    pub here: String,
    /// Product name, logo, favicon and brand stylesheets.
    pub brand: Arc<BrandView>,
}

impl Chrome {
    /// The languages the picker offers: (tag, name in itself, whether it is the page's).
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL.iter().map(|l| (l.tag(), l.native_name(), *l == self.lang)).collect()
    }
}

impl Default for Chrome {
    /// Nobody signed in, in the request's language.
    fn default() -> Self {
        chrome(None)
    }
}

/// The chrome for a page seen by `user`, or by nobody signed in, in the request's language.
pub fn chrome(user: Option<&User>) -> Chrome {
    let (picker, here) = super::picker::picker();
    Chrome {
        user_name: user.map(|u| u.name().to_string()),
        lang: crate::i18n::current(),
        picker,
        here,
        brand: current_brand(),
    }
}

/// A page: its compiled template, the name an override of it has (its path under
/// `templates/`), and its values, serializable for the override.
pub trait Page: Template + Serialize {
    const TEMPLATE: &'static str;
}

/// Implements [`Page`] for template structs: `pages!(LoginPage => "pages/login.html", …)`.
#[macro_export]
macro_rules! pages {
    ($($page:ty => $path:literal),* $(,)?) => {
        $(impl $crate::http::render::Page for $page {
            const TEMPLATE: &'static str = $path;
        })*
    };
}

pages!(ErrorPage => "pages/error.html", MessagePage => "pages/message.html");

#[derive(Template, Serialize)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub request_id: String,
}
crate::localized!(ErrorPage, |p| p.chrome.lang);

/// A page that says one thing, with an optional link onwards.
#[derive(Template, Serialize)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub link: Option<(&'static str, String)>,
}
crate::localized!(MessagePage, |p| p.chrome.lang);

/// Renders a page with a status, from the operator's override of its template if there is one.
/// An override that fails at run time (it passed the test render at start) is logged and the
/// compiled page goes out instead; a compiled template that fails is a bug: logged, and a bare
/// 500 goes out.
pub fn render<P: Page>(status: StatusCode, page: &P) -> Response {
    let overridden = BRANDING
        .try_with(|b| {
            let overrides = &b.overrides;
            overrides.has(P::TEMPLATE).then(|| overrides.render(P::TEMPLATE, page))
        })
        .ok()
        .flatten();
    let html = match overridden {
        Some(Ok(html)) => Ok(html),
        Some(Err(err)) => {
            tracing::error!(template = P::TEMPLATE, error = %err, "template override failed; the built-in page is shown");
            page.render()
        }
        None => page.render(),
    };
    match html {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
    }
}
