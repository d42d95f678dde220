//! Template structs of the OAuth browser endpoints: consent and the logout confirmation.
//! Askama escapes every value.

use askama::Template;

use crate::http::render::Chrome;

pub struct ScopeLine {
    pub name: String,
    /// The message key of the scope's description.
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "pages/consent.html")]
pub struct ConsentPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub client_name: String,
    pub scopes: Vec<ScopeLine>,
    /// The id of the pending request kept in the session.
    pub pending: String,
}
crate::localized!(ConsentPage, |p| p.chrome.lang);

#[derive(Template)]
#[template(path = "pages/end_session.html")]
pub struct EndSessionPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub client_name: Option<String>,
    pub client_id: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
}
crate::localized!(EndSessionPage, |p| p.chrome.lang);
