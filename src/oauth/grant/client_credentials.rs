//! A confidential client acting for itself: an access token whose `sub` is the client, no
//! refresh token, no ID token, and none of the OpenID Connect scopes.

use crate::oauth::client::Client;
use crate::oauth::error::TokenError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::{OIDC_SCOPES, Scope};
use crate::oauth::tokens::TokenResponse;

impl Provider {
    /// A token for `client` itself, a confidential client allowed this grant (checked by the
    /// request's parse), with the `asked` scope or else every scope it may have.
    pub(super) async fn client_credentials(
        &self,
        client: &Client,
        asked: Option<Scope>,
    ) -> Result<TokenResponse, TokenError> {
        let allowed = OIDC_SCOPES.iter().fold(client.allowed_scopes(), |s, oidc| s.without(oidc));
        let scope = match asked {
            Some(asked) => {
                if !asked.is_subset(&allowed) {
                    return Err(TokenError::InvalidScope("the client may not ask for this scope"));
                }
                asked
            }
            None => allowed,
        };
        let access_token = self.access_token(&client.id, client, &scope, None, None).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.settings.access_token_ttl_secs,
            refresh_token: None,
            id_token: None,
            scope: scope.to_string(),
        })
    }
}
