//! Template structs: what each page shows. Askama escapes every value.

use askama::Template;

/// What the layout around every page needs.
#[derive(Debug, Default, Clone)]
pub struct Chrome {
    /// The signed-in user's name, for the navigation.
    pub user_name: Option<String>,
}

/// Per-field error messages, shown next to their fields.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub title: &'static str,
    pub message: &'static str,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    pub chrome: Chrome,
}

#[derive(Template, Default)]
#[template(path = "pages/register.html")]
pub struct RegisterPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub errors: FieldErrors,
    pub form_error: Option<String>,
}

#[derive(Template, Default)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub login_name: String,
    pub next: String,
    pub errors: FieldErrors,
    pub form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/logout.html")]
pub struct LogoutPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub signed_in: bool,
}

#[derive(Template, Default)]
#[template(path = "pages/profile.html")]
pub struct ProfilePage {
    pub chrome: Chrome,
    pub csrf: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub member_since: String,
    pub notice: Option<&'static str>,
    /// An address waiting for its confirmation link to be followed.
    pub pending_email: Option<String>,
    /// The value typed into the e-mail change form, when it is shown again.
    pub new_email: String,
    pub errors: FieldErrors,
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

#[derive(Template, Default)]
#[template(path = "pages/reset_request.html")]
pub struct ResetRequestPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub email: String,
    pub errors: FieldErrors,
    pub form_error: Option<String>,
}

#[derive(Template, Default)]
#[template(path = "pages/reset_confirm.html")]
pub struct ResetConfirmPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub token: String,
    pub errors: FieldErrors,
}

pub struct ScopeLine {
    pub name: String,
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
