//! Tokens for the first-party JSON API: the same RFC 9068 access tokens and rotating refresh
//! tokens as any client, issued to the built-in public client `portcullis-api`, so refresh,
//! revocation and introspection work unchanged. That client is allowed the API, so its tokens
//! carry the API audience (see `audience`). (The ticket between the password and the second
//! factor of a two-step login is a server-side challenge: `identity::second_factor`.)

use super::client::{Client, ClientId, GrantType};
use super::grant::{GrantId, Issued};
use super::provider::Provider;
use super::redirect::RedirectUri;
use super::scope::{OIDC_SCOPES, Scope};
use super::tokens::{Amr, Authentication, TokenResponse};
use crate::identity::user::User;
use crate::secret::{random_token, token_hash};
use crate::store::grants::{self, StoredRefresh};
use crate::store::{clients, grants as grant_store};

/// The built-in client the JSON API's tokens belong to.
pub const API_CLIENT_ID: &str = "portcullis-api";

impl Provider {
    /// Startup: registers the built-in API client if it is missing.
    pub async fn ensure_api_client(&self) -> anyhow::Result<()> {
        if clients::find(&self.db, API_CLIENT_ID).await?.is_some() {
            return Ok(());
        }
        let client = Client {
            id: API_CLIENT_ID.into(),
            name: "Portcullis JSON API".into(),
            secret_hash: None,
            public: true,
            first_party: true,
            redirect_uris: Vec::<RedirectUri>::new(),
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::RefreshToken],
            scopes: Scope::from_names(OIDC_SCOPES),
            audiences: vec![],
            require_mfa: false,
            api_access: true,
            introspect_any: false,
            id_token_alg: None,
            id_token_on_refresh: true,
        };
        clients::insert(&self.db, &client, self.clock.unix()).await?;
        Ok(())
    }

    /// Access and refresh token for a user who signed in through the JSON API.
    pub async fn issue_api_tokens(
        &self,
        user: &User,
        amr: &[&str],
        sid: Option<&str>,
    ) -> anyhow::Result<TokenResponse> {
        let client = self.client(API_CLIENT_ID).await?.ok_or_else(|| anyhow::anyhow!("API client missing"))?;
        let now = self.clock.unix();
        let scope = Scope::from_names(["openid", "profile", "email"]);
        let grant_id = GrantId::generate();
        let auth = Authentication {
            auth_time: now,
            amr: amr.iter().map(|m| Amr::new(*m)).collect(),
            sid: sid.map(str::to_string),
        };
        let refresh = random_token();
        let tx = self.db.begin().await?;
        grant_store::insert_grant(&tx, grant_id.as_str(), user.id, API_CLIENT_ID, sid, false, now).await?;
        let record = StoredRefresh {
            grant_id: grant_id.clone(),
            client_id: ClientId::new(API_CLIENT_ID),
            user_id: user.id,
            scope: scope.clone(),
            auth_time: now,
            amr: auth.amr.clone(),
            expires_at: now + self.settings.refresh_absolute_ttl_secs,
            idle_expires_at: now + self.settings.refresh_idle_ttl_secs,
            used_at: None,
            used_at_ms: None,
            successor: None,
        };
        grants::insert_refresh(&tx, &token_hash(&refresh), &record, now).await?;
        let mut response = self
            .respond(
                user,
                &client,
                &scope,
                Issued { grant_id: &grant_id, auth: &auth, nonce: None, refreshed: false },
                Some(refresh),
            )
            .await?;
        response.id_token = None;
        tx.commit().await?;
        Ok(response)
    }
}
