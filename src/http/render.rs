//! Rendering a page, and what the pages of every browser surface (hosted pages, OAuth
//! browser endpoints, error pages) share: the layout's chrome and the one-message pages.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::identity::user::User;

/// What the layout around every page needs.
#[derive(Debug, Default, Clone)]
pub struct Chrome {
    /// The signed-in user's name, for the navigation.
    pub user_name: Option<String>,
}

/// The chrome for a page seen by `user`, or by nobody signed in.
pub fn chrome(user: Option<&User>) -> Chrome {
    Chrome { user_name: user.map(|u| u.name().to_string()) }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: &'static str,
    pub message: &'static str,
    pub request_id: String,
}

/// A page that says one thing, with an optional link onwards.
#[derive(Template)]
#[template(path = "pages/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: &'static str,
    pub message: String,
    pub link: Option<(&'static str, &'static str)>,
}

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
