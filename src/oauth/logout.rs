//! Signing out, and RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
//! `id_token_hint` names the client and user; `post_logout_redirect_uri` must be registered
//! for that client, exactly, or there is no redirect; `state` is echoed.
//!
//! Every sign-out (the pages' logout, the API's, RP-initiated) ends what it ends in one
//! transaction with its one `sign_out` audit event: the browser session row, that sign-in's
//! online grants, an API caller's grants.

use url::Url;

use super::client::Client;
use super::provider::Provider;
use crate::audit::{Actor, Event, EventKind};
use crate::identity::session::SessionId;
use crate::identity::surface::Surface;
use crate::identity::user::UserId;
use crate::secret::{Secret, token_hash};
use crate::store::{audit, grants, sessions};

/// What one sign-out ends; absent parts are skipped.
#[derive(Debug)]
pub struct SignOut {
    pub surface: Surface,
    /// Whose sign-out it is (the browser session's user, the access token's subject); when
    /// unknown, the refresh token's owner.
    pub user: Option<UserId>,
    /// The browser session the request carried.
    pub browser_session: Option<SessionId>,
    /// That session's sign-in (`sid`): its online grants end too.
    pub sid: Option<String>,
    /// The grant of an API caller's access token.
    pub access_grant: Option<String>,
    /// An API caller's refresh token: its grant ends.
    pub refresh_token: Option<Secret>,
    /// The client that asked (RP-initiated logout).
    pub client: Option<String>,
}

impl SignOut {
    pub fn new(surface: Surface) -> Self {
        Self {
            surface,
            user: None,
            browser_session: None,
            sid: None,
            access_grant: None,
            refresh_token: None,
            client: None,
        }
    }
}

/// A parsed end-session request.
#[derive(Debug)]
pub struct EndSession {
    /// The `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    /// Where to send the browser afterwards, with `state`: only a registered URI.
    pub redirect: Option<String>,
    pub client: Option<Client>,
}

impl Provider {
    pub async fn end_session_request(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> anyhow::Result<EndSession> {
        let hint = match id_token_hint {
            Some(h) => self.verify_id_token_hint(h).await,
            None => None,
        };
        let hint_client = hint.as_ref().and_then(|(_, aud, _)| aud.first().cloned());
        let client_id = match (hint_client, client_id) {
            (Some(from_hint), Some(given)) if from_hint != given => None,
            (Some(from_hint), _) => Some(from_hint),
            (None, given) => given.map(str::to_string),
        };
        let client = match &client_id {
            Some(id) => self.client(id).await?,
            None => None,
        };
        let redirect = match (&client, post_logout_redirect_uri) {
            (Some(client), Some(uri)) => client.post_logout_redirect_uri(uri).and_then(|r| {
                let mut url = Url::parse(r.as_str()).ok()?;
                if let Some(state) = state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }),
            _ => None,
        };
        Ok(EndSession { hint_sub: hint.map(|(sub, _, _)| sub), redirect, client })
    }
}

impl Provider {
    /// Ends what `s` names in one transaction. A `sign_out` event is recorded with it when
    /// something was still live (the session row, a grant) and its user is known, so a
    /// repeated or parallel logout of the same session records nothing more. True when it
    /// recorded one.
    pub async fn sign_out(&self, s: SignOut) -> anyhow::Result<bool> {
        let now = self.clock.unix();
        let refresh = match &s.refresh_token {
            Some(token) => grants::find_refresh(&self.db, &token_hash(token.expose())).await?,
            None => None,
        };
        let user = s.user.or_else(|| refresh.as_ref().map(|r| r.user_id));
        let tx = self.db.begin().await?;
        let session_ended = match &s.browser_session {
            Some(id) => sessions::end(&tx, id).await?,
            None => false,
        };
        let mut grants_revoked = 0;
        if let Some(sid) = &s.sid {
            grants_revoked += grants::revoke_for_session(&tx, sid, now).await?;
        }
        for gid in s.access_grant.as_deref().into_iter().chain(refresh.as_ref().map(|r| r.grant_id.as_str())) {
            grants_revoked += grants::revoke_grant(&tx, gid, now).await?;
        }
        let recorded = match user {
            Some(user) if session_ended || grants_revoked > 0 => {
                let mut event = Event::new(EventKind::SignedOut)
                    .actor(Actor::User(user))
                    .user(user)
                    .detail("surface", s.surface.as_str())
                    .detail("browser_session", session_ended)
                    .detail("grants_revoked", grants_revoked);
                if let Some(client) = &s.client {
                    event = event.client(client.clone());
                }
                audit::append(&tx, self.clock.now_ms(), &event).await?;
                true
            }
            _ => false,
        };
        tx.commit().await?;
        Ok(recorded)
    }
}
