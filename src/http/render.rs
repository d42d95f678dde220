//! Rendering a page, and what the pages of every browser surface (hosted pages, OAuth
//! browser endpoints, error pages) share: the layout's chrome and the one-message pages.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::Lang;
use crate::identity::user::User;

/// What the layout around every page needs.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The signed-in user's name, for the navigation.
    pub user_name: Option<String>,
    /// The page's language (the request's, see `http::language`).
    pub lang: Lang,
    /// The session's CSRF token for the language picker, once the session has one.
    pub picker: super::picker::PickerToken,
    /// The path the language picker returns to.
    pub here: String,
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
    Chrome { user_name: user.map(|u| u.name().to_string()), lang: crate::i18n::current(), picker, here }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub request_id: String,
}
crate::localized!(ErrorPage, |p| p.chrome.lang);

/// A page that says one thing, with an optional link onwards.
#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub link: Option<(&'static str, String)>,
}
crate::localized!(MessagePage, |p| p.chrome.lang);

/// Renders a page with a status. A template that fails to render is a bug: logged, and a
/// bare 500 goes out.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
    }
}
