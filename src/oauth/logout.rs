//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the `id_token_hint` names
//! the client and user; `post_logout_redirect_uri` must be registered for that client,
//! exactly, or there is no redirect; `state` is echoed.

use url::Url;

use super::client::Client;
use super::provider::Provider;

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
