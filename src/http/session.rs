//! The browser session every browser surface (hosted pages, OAuth browser endpoints, the
//! API's cookie login and logout) uses: its cookie layer, who is logged in, the CSRF token,
//! and the two transitions (login cycles the id; logout destroys the server-side record).
//!
//! Lean by design: a session row exists only once something must be kept (a sign-in, a
//! pending second factor, an authorization request waiting for a sign-in), and a request
//! writes it only when it changed something (`always_save` is off; removing an absent key
//! changes nothing). The CSRF token is stateless ([`super::csrf`]), so showing a form stores
//! nothing. The idle deadline slides without a write per request: see
//! `store::sessions::SessionRepo::load`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_cookies::Cookies;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use super::browser_error::BrowserError;
use super::csrf::{self, Binding};
use crate::identity::second_factor::ChallengeId;
use crate::identity::session::SessionId;
use crate::identity::user::{User, UserId};
use crate::oauth::authorize::SessionAuth;
use crate::oauth::logout::SignOut;
use crate::oauth::tokens::{Amr, Authentication};
use crate::secret::random_token;
use crate::state::AppState;
// `SID_KEY`: a stable id for one sign-in (survives id cycling), the `sid` of ID tokens.
use crate::store::sessions::{AUTH_TIME_KEY, SID_KEY, USER_ID_KEY};

const AMR_KEY: &str = "amr";
/// A password-only sign-in waiting for its second factor: it opens nothing else.
const MFA_USER_KEY: &str = "mfa_user";
const MFA_STARTED_KEY: &str = "mfa_started";
const MFA_NEXT_KEY: &str = "mfa_next";
/// The id of the server-side challenge this step answers (its attempts are counted there,
/// atomically); the challenge's token itself is never kept.
const MFA_CHALLENGE_KEY: &str = "mfa_challenge";
const MFA_DEVICE_KEY: &str = "mfa_device";
/// The return address of the sign-in that just completed (an authorization request to resume).
const SIGNED_IN_FOR_KEY: &str = "signed_in_for";
/// When this browser session last proved a second factor (Unix seconds): the sign-in's
/// second step or the admin console's step-up.
const SECOND_FACTOR_AT_KEY: &str = "second_factor_at";
/// How long the second-factor step stays open.
const MFA_STEP_SECS: i64 = 300;

/// A sign-in half done: the password was right, the second factor is due.
pub struct PendingSecondFactor {
    pub user_id: UserId,
    pub next: String,
    /// The challenge (see `identity::second_factor`).
    pub challenge: ChallengeId,
}

/// Cookie names; `__Host-` (which requires Secure, Path=/ and no Domain) under https.
pub fn cookie_name(secure: bool, base: &'static str) -> String {
    if secure { format!("__Host-{base}") } else { base.to_string() }
}

/// The session cookie layer shared by the pages, the OAuth browser endpoints and the API.
pub fn session_layer(state: &AppState) -> SessionManagerLayer<crate::store::sessions::SessionRepo> {
    let secure = state.settings.secure_cookies();
    SessionManagerLayer::new(state.sessions.clone())
        .with_name(cookie_name(secure, "portcullis_session"))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        // A browser-session cookie; the server enforces idle and absolute timeouts.
        .with_expiry(Expiry::OnSessionEnd)
        // Saved only when changed: a page view that changes nothing writes nothing.
        .with_always_save(false)
}

/// The form field every state-changing form carries.
pub const CSRF_FIELD: &str = "csrf_token";

pub struct BrowserSession {
    session: Session,
    /// The request's cookie jar (the session layer's): the CSRF seed cookie lives there.
    cookies: Cookies,
    state: AppState,
}

impl FromRequestParts<AppState> for BrowserSession {
    type Rejection = BrowserError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| BrowserError::Internal(anyhow::anyhow!("session layer missing: {msg}")))?;
        let cookies = parts
            .extensions
            .get::<Cookies>()
            .cloned()
            .ok_or_else(|| BrowserError::Internal(anyhow::anyhow!("cookie layer missing")))?;
        Ok(Self { session, cookies, state: state.clone() })
    }
}

impl BrowserSession {
    fn seed_cookie(&self) -> csrf::SeedCookie {
        let secure = self.state.settings.secure_cookies();
        csrf::SeedCookie { name: cookie_name(secure, csrf::COOKIE_BASE), secure }
    }

    /// Which sign-in this session's CSRF tokens are bound to (see [`super::csrf`]).
    async fn csrf_binding(&self) -> Result<Binding, BrowserError> {
        if self.session.get::<String>(USER_ID_KEY).await?.is_none() {
            return Ok(Binding::Anonymous);
        }
        Ok(match self.session.get::<String>(SID_KEY).await? {
            Some(sid) => Binding::SignedIn(sid),
            None => Binding::Anonymous,
        })
    }

    /// The token to embed in this page's forms; stores nothing on the server (the browser
    /// gets a CSRF seed cookie if it has none).
    pub async fn csrf_token(&self) -> Result<String, BrowserError> {
        let binding = self.csrf_binding().await?;
        let token = csrf::issue(&self.state.csrf_key, &self.cookies, &self.seed_cookie(), &binding)?;
        super::picker::remember_csrf(&token);
        Ok(token)
    }

    /// Refuses the request unless `submitted` is this browser's token for its current sign-in.
    pub async fn verify_csrf(&self, submitted: Result<&str, impl Sized>) -> Result<(), BrowserError> {
        let Ok(given) = submitted else { return Err(BrowserError::Csrf) };
        let binding = self.csrf_binding().await?;
        match csrf::verify(&self.state.csrf_key, &self.cookies, &self.seed_cookie(), &binding, given)? {
            true => Ok(()),
            false => Err(BrowserError::Csrf),
        }
    }

    /// Removes `key` if the session holds it: removing an absent key would mark the session
    /// changed, and so cost a write.
    async fn remove_present(&self, key: &str) -> Result<Option<serde_json::Value>, BrowserError> {
        if self.session.get_value(key).await?.is_none() {
            return Ok(None);
        }
        Ok(self.session.remove_value(key).await?)
    }

    /// The logged-in user, if any. A session whose user is gone or disabled is ended.
    pub async fn user(&self) -> Result<Option<User>, BrowserError> {
        let Some(id) = self.session.get::<String>(USER_ID_KEY).await? else { return Ok(None) };
        let user = match UserId::parse(&id) {
            Some(id) => self.state.accounts.find(id).await?,
            None => None,
        };
        match user {
            Some(user) if !user.disabled => Ok(Some(user)),
            _ => {
                self.session.flush().await?;
                Ok(None)
            }
        }
    }

    /// Whether a user is signed in on this session, without loading them; a session that
    /// cannot be read counts as nobody signed in.
    pub async fn is_signed_in(&self) -> bool {
        self.session.get::<String>(USER_ID_KEY).await.ok().flatten().is_some()
    }

    /// The logged-in user, or a redirect to the login page that comes back to `here`.
    pub async fn require_user(&self, here: &str) -> Result<User, BrowserError> {
        self.user().await?.ok_or_else(|| BrowserError::LoginRequired { next: here.to_string() })
    }

    /// The checks every signed-in form starts with, in this order: who is signed in (else a
    /// redirect to the login page that comes back to `here`), then the form's CSRF token.
    pub async fn signed_in_form(&self, here: &str, form: &super::form::FormData) -> Result<User, BrowserError> {
        let user = self.require_user(here).await?;
        self.verify_csrf(form.text(CSRF_FIELD)).await?;
        Ok(user)
    }

    /// After a successful authentication: a new session id (no fixation), the user, the
    /// time and methods of authentication, and a new sign-in id (`sid`, which also rebinds
    /// the CSRF tokens: one shown before opens nothing after).
    pub async fn log_in(&self, user: &User, amr: &[&str]) -> Result<(), BrowserError> {
        self.session.cycle_id().await?;
        self.clear_second_factor().await?;
        self.session.remove_value(SIGNED_IN_FOR_KEY).await?;
        self.session.insert(USER_ID_KEY, user.id.to_string()).await?;
        self.session.insert(AUTH_TIME_KEY, self.state.clock.unix()).await?;
        self.session.insert(SID_KEY, random_token()).await?;
        self.session.insert(AMR_KEY, amr).await?;
        // A TOTP code, or a passkey with user verification (`mfa`), proves a second factor.
        if amr.contains(&"otp") || amr.contains(&"mfa") {
            self.session.insert(SECOND_FACTOR_AT_KEY, self.state.clock.unix()).await?;
        } else {
            self.session.remove_value(SECOND_FACTOR_AT_KEY).await?;
        }
        match user.locale {
            Some(lang) => self.session.insert(super::picker::PROFILE_KEY, lang.tag()).await?,
            None => drop(self.session.remove_value(super::picker::PROFILE_KEY).await?),
        }
        Ok(())
    }

    /// When this session last proved a second factor, if it has.
    pub async fn second_factor_at(&self) -> Result<Option<i64>, BrowserError> {
        Ok(self.session.get::<i64>(SECOND_FACTOR_AT_KEY).await?)
    }

    /// A second factor was proven just now in this session (a step-up): a new session id,
    /// and the time kept.
    pub async fn proved_second_factor(&self) -> Result<(), BrowserError> {
        self.session.cycle_id().await?;
        self.session.insert(SECOND_FACTOR_AT_KEY, self.state.clock.unix()).await?;
        Ok(())
    }

    /// Right after [`Self::log_in`] on a sign-in page: the sign-in was made to go on to `next`.
    pub async fn signed_in_for(&self, next: &str) -> Result<(), BrowserError> {
        self.session.insert(SIGNED_IN_FOR_KEY, next).await?;
        Ok(())
    }

    /// Whether the last sign-in was made for `back` (the request's return address); true only
    /// once, so the same request later asks again.
    pub async fn take_signed_in_for(&self, back: &str) -> Result<bool, BrowserError> {
        if self.session.get::<String>(SIGNED_IN_FOR_KEY).await?.as_deref() != Some(back) {
            return Ok(false);
        }
        self.remove_present(SIGNED_IN_FOR_KEY).await?;
        Ok(true)
    }

    /// After a correct password for an account with 2FA: a new session id that carries only
    /// the pending step (no user id, so no page, authorization or API opens with it).
    pub async fn begin_second_factor(
        &self,
        user: &User,
        challenge: &ChallengeId,
        next: &str,
        remember_device: bool,
    ) -> Result<(), BrowserError> {
        self.session.cycle_id().await?;
        self.session.remove_value(USER_ID_KEY).await?;
        self.session.insert(MFA_USER_KEY, user.id.to_string()).await?;
        self.session.insert(MFA_STARTED_KEY, self.state.clock.unix()).await?;
        self.session.insert(MFA_NEXT_KEY, next).await?;
        self.session.insert(MFA_CHALLENGE_KEY, challenge.as_str()).await?;
        if remember_device {
            self.session.insert(MFA_DEVICE_KEY, true).await?;
        }
        Ok(())
    }

    /// The pending second-factor step, while it is open.
    pub async fn pending_second_factor(&self) -> Result<Option<PendingSecondFactor>, BrowserError> {
        let Some(id) = self.session.get::<String>(MFA_USER_KEY).await? else { return Ok(None) };
        let started = self.session.get::<i64>(MFA_STARTED_KEY).await?.unwrap_or_default();
        let user_id = UserId::parse(&id);
        let challenge = self.session.get::<String>(MFA_CHALLENGE_KEY).await?;
        match (user_id, challenge) {
            (Some(user_id), Some(challenge)) if self.state.clock.unix() - started <= MFA_STEP_SECS => {
                Ok(Some(PendingSecondFactor {
                    user_id,
                    next: self.session.get::<String>(MFA_NEXT_KEY).await?.unwrap_or_else(|| "/profile".into()),
                    challenge: ChallengeId::from_kept(challenge),
                }))
            }
            _ => {
                self.clear_second_factor().await?;
                Ok(None)
            }
        }
    }

    /// Whether this browser is to become a known device once the second factor is proven
    /// (it did not sign in with a good device cookie of this account).
    pub async fn take_remember_device(&self) -> Result<bool, BrowserError> {
        Ok(self.remove_present(MFA_DEVICE_KEY).await?.and_then(|v| v.as_bool()).unwrap_or(false))
    }

    pub async fn clear_second_factor(&self) -> Result<(), BrowserError> {
        for key in [MFA_USER_KEY, MFA_STARTED_KEY, MFA_NEXT_KEY, MFA_CHALLENGE_KEY, MFA_DEVICE_KEY] {
            self.remove_present(key).await?;
        }
        Ok(())
    }

    /// The signed-in user with how and when they authenticated.
    pub async fn auth(&self) -> Result<Option<SessionAuth>, BrowserError> {
        let Some(user) = self.user().await? else { return Ok(None) };
        let auth = Authentication {
            auth_time: self.session.get::<i64>(AUTH_TIME_KEY).await?.unwrap_or_default(),
            amr: self.session.get::<Vec<Amr>>(AMR_KEY).await?.unwrap_or_else(|| vec![Amr::new("pwd")]),
            sid: self.session.get::<String>(SID_KEY).await?,
        };
        Ok(Some(SessionAuth { user, auth, signed_in_for_this_request: false }))
    }

    /// Ends the session on the server (with the session's online grants, and whatever else
    /// `how` names) and records the sign-out; the cookie is cleared with the response.
    pub async fn log_out(&self, mut how: SignOut) -> Result<(), BrowserError> {
        let signed_in = self.session.get::<String>(USER_ID_KEY).await?.as_deref().and_then(UserId::parse);
        how.user = signed_in.or(how.user);
        how.browser_session = self.session.id().map(SessionId::from);
        how.sid = self.session.get::<String>(SID_KEY).await?;
        self.state.provider.sign_out(how).await?;
        self.session.flush().await?;
        Ok(())
    }

    /// Keeps a value in the session (pending authorization requests).
    pub async fn put<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), BrowserError> {
        self.session.insert(key, value).await?;
        Ok(())
    }

    /// Takes a value out of the session.
    pub async fn take<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, BrowserError> {
        match self.remove_present(key).await? {
            Some(value) => Ok(serde_json::from_value(value).ok()),
            None => Ok(None),
        }
    }

    /// A new id for the same session (after a password change).
    pub async fn cycle(&self) -> Result<(), BrowserError> {
        self.session.cycle_id().await?;
        Ok(())
    }

    pub fn id(&self) -> Option<Id> {
        self.session.id()
    }

    /// This session's id as the domain sees it (to tell "this device" apart), if it has one.
    pub fn session_id(&self) -> Option<crate::identity::session::SessionId> {
        self.session.id().map(Into::into)
    }
}
