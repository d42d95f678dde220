//! The console's gate, one extractor every console handler takes: a signed-in user (else
//! the login page, coming back here), with the admin role (else 403), who proved a second
//! factor in this browser session within [`STEP_UP_SECS`] (else the step-up page). It runs
//! before the body is read, so a refused POST changes nothing and reveals nothing; the
//! handler then checks the form's CSRF token with [`AdminSession::form`].

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;

use super::error::ConsoleError;
use super::paths;
use crate::audit::Actor;
use crate::http::browser_error::BrowserError;
use crate::http::form::FormData;
use crate::http::login_redirect::safe_next;
use crate::http::render::{Chrome, chrome};
use crate::http::session::{BrowserSession, CSRF_FIELD};
use crate::identity::user::User;
use crate::state::AppState;

/// How long a second factor proven in this browser session opens the console.
pub const STEP_UP_SECS: i64 = 15 * 60;

/// A signed-in administrator with a recent second factor.
pub struct AdminSession {
    pub session: BrowserSession,
    pub admin: User,
    pub csrf: String,
}

/// A signed-in administrator, second factor recent or not (the step-up page itself).
pub struct SignedInAdmin {
    pub session: BrowserSession,
    pub admin: User,
}

/// Where the visitor was going: the path and query of a GET, the dashboard after a POST
/// (a form cannot be replayed through a redirect).
fn here(parts: &Parts) -> String {
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(paths::DASHBOARD);
    if parts.method == Method::GET {
        safe_next(target).unwrap_or(paths::DASHBOARD).to_string()
    } else {
        paths::DASHBOARD.into()
    }
}

impl FromRequestParts<AppState> for SignedInAdmin {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = BrowserSession::from_request_parts(parts, state).await?;
        let Some(user) = session.user().await? else {
            return Err(BrowserError::LoginRequired { next: here(parts) }.into());
        };
        if !user.is_admin {
            return Err(ConsoleError::Forbidden { chrome: chrome(Some(&user)) });
        }
        Ok(Self { session, admin: user })
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedInAdmin { session, admin } = SignedInAdmin::from_request_parts(parts, state).await?;
        let now = state.clock.unix();
        let recent = session.second_factor_at().await?.is_some_and(|at| at <= now && now - at <= STEP_UP_SECS);
        if !recent {
            return Err(ConsoleError::StepUp { next: here(parts) });
        }
        let csrf = session.csrf_token().await?;
        Ok(Self { session, admin, csrf })
    }
}

impl AdminSession {
    /// Refuses the form unless it carries this session's CSRF token.
    pub async fn form(&self, form: &FormData) -> Result<(), ConsoleError> {
        Ok(self.session.verify_csrf(form.text(CSRF_FIELD)).await?)
    }

    /// Who acts, for the audit log.
    pub fn actor(&self) -> Actor {
        Actor::Admin(self.admin.id)
    }

    pub fn chrome(&self) -> Chrome {
        chrome(Some(&self.admin))
    }
}
