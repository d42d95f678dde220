//! Template structs of the console: what each page shows. Askama escapes every value.

use askama::Template;

use crate::http::render::Chrome;
use crate::identity::admin::Overview;
use crate::identity::user::User;

pub use crate::http::field_errors::FieldErrors;

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix.to_string(),
    }
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/step_up.html")]
pub struct StepUpPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub next: String,
    /// The administrator has a second factor to prove.
    pub enrolled: bool,
    pub error: Option<&'static str>,
}
crate::localized!(StepUpPage, |p| p.chrome.lang);

#[derive(Template, serde::Serialize)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub chrome: Chrome,
    pub overview: Overview,
    pub clients: usize,
}
crate::localized!(DashboardPage, |p| p.chrome.lang);

/// A user as the console's tables show them.
#[derive(serde::Serialize)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub is_admin: bool,
    pub disabled: bool,
    pub created: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            name: u.display_name.clone(),
            email_verified: u.email_verified,
            is_admin: u.is_admin,
            disabled: u.disabled,
            created: when(u.created_at),
        }
    }
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub q: String,
    pub users: Vec<UserRow>,
    /// The link to the next page, when there is one.
    pub more: Option<String>,
}
crate::localized!(UsersPage, |p| p.chrome.lang);

#[derive(Template, serde::Serialize)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub user: UserRow,
    pub mfa_enabled: bool,
    /// The signed-in administrator looks at their own account.
    pub is_self: bool,
    pub notice: Option<&'static str>,
    pub form_error: Option<String>,
    /// The edit form's values (as stored, or as typed when shown again).
    pub display_name: String,
    pub email: String,
    pub admin_flag: bool,
    pub errors: FieldErrors,
}
crate::localized!(UserPage, |p| p.chrome.lang);

#[derive(Template, serde::Serialize, Default)]
#[template(path = "admin/user_new.html")]
pub struct UserNewPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub admin_flag: bool,
    pub verified: bool,
    pub errors: FieldErrors,
}
crate::localized!(UserNewPage, |p| p.chrome.lang);

/// "Are you sure?" before a deletion.
#[derive(Template, serde::Serialize)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub title: String,
    pub message: String,
    pub action: String,
    pub button: &'static str,
    pub back: String,
}
crate::localized!(ConfirmPage, |p| p.chrome.lang);

/// A client as the list shows it.
#[derive(serde::Serialize)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub grants: String,
    pub redirect_uris: String,
    pub first_party: bool,
    pub require_mfa: bool,
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub chrome: Chrome,
    pub clients: Vec<ClientRow>,
}
crate::localized!(ClientsPage, |p| p.chrome.lang);

/// The client form's values.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ClientForm {
    pub id: String,
    pub name: String,
    pub public: bool,
    pub first_party: bool,
    pub require_mfa: bool,
    /// Space-separated.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub scopes: String,
    pub grant_authorization_code: bool,
    pub grant_refresh_token: bool,
    pub grant_client_credentials: bool,
    pub grant_device_code: bool,
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub csrf: String,
    /// A new client (the id and kind are chosen), or an existing one.
    pub creating: bool,
    pub form: ClientForm,
    pub api_access: bool,
    pub introspect_any: bool,
    pub notice: Option<&'static str>,
    pub errors: FieldErrors,
    pub form_error: Option<String>,
}
crate::localized!(ClientPage, |p| p.chrome.lang);

/// A client secret, shown this once.
#[derive(Template, serde::Serialize)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub chrome: Chrome,
    pub client_id: String,
    pub secret: String,
    pub created: bool,
}
crate::localized!(SecretPage, |p| p.chrome.lang);

#[derive(serde::Serialize)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: &'static str,
    pub created: String,
    pub activates: String,
    pub retires: String,
    pub removed: String,
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/keys.html")]
pub struct KeysPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub keys: Vec<KeyRow>,
    pub next_rotation: String,
    pub delay_secs: i64,
    pub notice: Option<String>,
}
crate::localized!(KeysPage, |p| p.chrome.lang);

#[derive(serde::Serialize)]
pub struct EventRow {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub user_id: String,
    pub client_id: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub user: String,
    pub kind: String,
    pub client: String,
    pub from: String,
    pub to: String,
    pub kinds: Vec<&'static str>,
    pub events: Vec<EventRow>,
    pub older: Option<String>,
    pub errors: FieldErrors,
}
crate::localized!(AuditPage, |p| p.chrome.lang);

#[derive(serde::Serialize)]
pub struct SessionRow {
    pub key: String,
    pub created: String,
    pub last_seen: String,
    pub ip: String,
    pub device: String,
}

#[derive(Template, serde::Serialize)]
#[template(path = "admin/sessions.html")]
pub struct SessionsPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub user: UserRow,
    pub sessions: Vec<SessionRow>,
    pub notice: Option<&'static str>,
}

crate::pages!(
    StepUpPage => "admin/step_up.html",
    DashboardPage => "admin/dashboard.html",
    UsersPage => "admin/users.html",
    UserPage => "admin/user.html",
    UserNewPage => "admin/user_new.html",
    ConfirmPage => "admin/confirm.html",
    ClientsPage => "admin/clients.html",
    ClientPage => "admin/client.html",
    SecretPage => "admin/secret.html",
    KeysPage => "admin/keys.html",
    AuditPage => "admin/audit.html",
    SessionsPage => "admin/sessions.html",
);
crate::localized!(SessionsPage, |p| p.chrome.lang);
