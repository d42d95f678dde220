//! A confidential client acting for itself: an access token whose `sub` is the client, no
//! refresh token, no ID token, and none of the OpenID Connect scopes.

use super::TokenParams;
use crate::oauth::client::{Client, GrantType};
use crate::oauth::error::TokenError;
use crate::oauth::provider::Provider;
use crate::oauth::scope::{OIDC_SCOPES, Scope};
use crate::oauth::tokens::TokenResponse;

impl Provider {
    pub async fn client_credentials(
        &self,
        client: &Client,
        params: &impl TokenParams,
    ) -> Result<TokenResponse, TokenError> {
        if client.public || !client.allows(GrantType::ClientCredentials) {
            return Err(TokenError::UnauthorizedClient);
        }
        let allowed = OIDC_SCOPES.iter().fold(client.allowed_scopes(), |s, oidc| s.without(oidc));
        let scope = match params.get("scope")? {
            Some(asked) => {
                let asked = Scope::parse(asked).map_err(TokenError::InvalidScope)?;
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
