//! Template structs of the OAuth browser endpoints: consent, the logout confirmation and
//! the device pages.
//! Askama escapes every value.

use askama::Template;

use crate::http::render::Chrome;

#[derive(serde::Serialize)]
pub struct ScopeLine {
    pub name: String,
    /// The message key of the scope's description.
    pub description: &'static str,
}

#[derive(Template, serde::Serialize)]
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

#[derive(Template, serde::Serialize)]
#[template(path = "pages/end_session.html")]
pub struct EndSessionPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub client_name: Option<String>,
    pub client_id: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
}

/// `/device`: enter the code a device shows.
#[derive(Template, serde::Serialize)]
#[template(path = "pages/device.html")]
pub struct DeviceEntryPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub user_code: String,
    pub error: Option<&'static str>,
}

/// `/device` after a good code: the client, its scopes, allow or deny.
#[derive(Template, serde::Serialize)]
#[template(path = "pages/device_confirm.html")]
pub struct DeviceConfirmPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub user_code: String,
    pub client_name: String,
    pub scopes: Vec<ScopeLine>,
}

crate::localized!(DeviceEntryPage, |p| p.chrome.lang);
crate::localized!(DeviceConfirmPage, |p| p.chrome.lang);

crate::pages!(
    ConsentPage => "pages/consent.html",
    EndSessionPage => "pages/end_session.html",
    DeviceEntryPage => "pages/device.html",
    DeviceConfirmPage => "pages/device_confirm.html",
);
crate::localized!(EndSessionPage, |p| p.chrome.lang);
