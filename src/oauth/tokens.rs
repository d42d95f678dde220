//! Access tokens (RFC 9068 JWTs, `typ: at+jwt`) and ID tokens (OIDC Core §2), and the strict
//! verification of our own access tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

use super::client::Client;
use super::error::BearerError;
use super::keys::Alg;
use super::provider::Provider;
use super::scope::{EMAIL, OPENID, PROFILE, Scope};
use crate::identity::user::{User, UserId};
use crate::store::{grants, users};

/// Clock skew tolerated when checking `exp` and `iat`.
const LEEWAY_SECS: i64 = 30;

/// What the token endpoint answers (RFC 6749 §5.1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

pub use crate::oauth::values::Amr;

/// Who authenticated, how and when (for `auth_time`, `amr`, `acr`, `sid`).
#[derive(Debug, Clone)]
pub struct Authentication {
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    pub sid: Option<String>,
}

/// `acr` for a password-only sign-in, and for password plus a second factor.
pub const ACR_PASSWORD: &str = "urn:portcullis:acr:pwd";
pub const ACR_MFA: &str = "urn:portcullis:acr:mfa";

impl Authentication {
    /// A TOTP code, or a passkey with user verification (RFC 8176 `mfa`: possession plus
    /// PIN or biometrics), satisfies a request for a second factor.
    pub fn has_second_factor(&self) -> bool {
        self.amr.iter().any(|m| matches!(m.as_str(), "otp" | "mfa"))
    }

    pub fn acr(&self) -> &'static str {
        if self.has_second_factor() { ACR_MFA } else { ACR_PASSWORD }
    }
}

/// The claims of a verified access token.
#[derive(Debug, Clone)]
pub struct AccessClaims {
    pub sub: String,
    pub client_id: String,
    pub scope: Scope,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub gid: Option<String>,
    pub aud: Vec<String>,
}

fn payload(claims: Value) -> anyhow::Result<JwtPayload> {
    match claims {
        Value::Object(map) => Ok(JwtPayload::from_map(map)?),
        _ => anyhow::bail!("claims must be an object"),
    }
}

/// `at_hash`: the left half of the hash of the access token, with the hash of the ID token's
/// algorithm (SHA-512 for EdDSA/Ed25519).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Alg::RS256 | Alg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        Alg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The user claims a scope releases (userinfo and ID token).
pub fn user_claims(user: &User, scope: &Scope) -> serde_json::Map<String, Value> {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(user.id.to_string()));
    if scope.contains(PROFILE) {
        claims.insert("name".into(), json!(user.name()));
        claims.insert("preferred_username".into(), json!(user.username));
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if scope.contains(EMAIL) {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}

impl Provider {
    /// An RFC 9068 access token. `sub` is the user, or the client itself for
    /// client_credentials; `aud` is what [`Self::audiences_for`] gives the client (never the
    /// issuer).
    pub(super) async fn access_token(
        &self,
        sub: &str,
        client: &Client,
        scope: &Scope,
        grant_id: Option<&str>,
        auth: Option<&Authentication>,
    ) -> anyhow::Result<String> {
        let now = self.clock.unix();
        let aud = self.audiences_for(client);
        let mut claims = json!({
            "iss": &*self.issuer,
            "sub": sub,
            "aud": aud,
            "client_id": client.id,
            "scope": scope.to_string(),
            "iat": now,
            "exp": now + self.settings.access_token_ttl_secs,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(gid) = grant_id {
            claims["gid"] = json!(gid);
        }
        if let Some(auth) = auth {
            claims["auth_time"] = json!(auth.auth_time);
            claims["acr"] = json!(auth.acr());
        }
        self.keys.sign(self.access_alg, "at+jwt", &payload(claims)?).await
    }

    /// An ID token for `client`, with the claims the scope releases.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn id_token(
        &self,
        user: &User,
        client: &Client,
        scope: &Scope,
        nonce: Option<&str>,
        auth: &Authentication,
        access_token: &str,
    ) -> anyhow::Result<String> {
        let now = self.clock.unix();
        let alg = self.id_token_alg_for(client);
        let mut claims = user_claims(user, scope);
        let extra = json!({
            "iss": &*self.issuer,
            "aud": client.id,
            "azp": client.id,
            "iat": now,
            "exp": now + self.settings.id_token_ttl_secs,
            "auth_time": auth.auth_time,
            "amr": auth.amr,
            "acr": auth.acr(),
            "at_hash": at_hash(alg, access_token),
        });
        if let Value::Object(extra) = extra {
            claims.extend(extra);
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(sid) = &auth.sid {
            claims.insert("sid".into(), json!(sid));
        }
        self.keys.sign(alg, "JWT", &payload(Value::Object(claims))?).await
    }

    /// Verifies one of our access tokens for `audience`: see [`Self::verify_any_access_token`],
    /// and `aud` must include `audience`.
    pub async fn verify_access_token(&self, token: &str, audience: &str) -> Result<AccessClaims, BearerError> {
        let claims = self.verify_any_access_token(token).await?;
        if !claims.aud.iter().any(|a| a == audience) {
            return Err(BearerError::InvalidToken);
        }
        Ok(claims)
    }

    /// Verifies one of our access tokens whatever its audience: signature and header rules,
    /// `iss`, `exp`/`iat` within a small leeway, and not revoked (by `jti` or grant). Only for
    /// callers that decide on `aud` themselves (introspection, revocation, userinfo, the
    /// first-party APIs); a resource uses [`Self::verify_access_token`].
    pub async fn verify_any_access_token(&self, token: &str) -> Result<AccessClaims, BearerError> {
        let payload = self.keys.verify(token, "at+jwt").await.map_err(|e| {
            tracing::debug!(reason = %e, "access token refused");
            match e {
                super::keys::VerifyError::Internal(e) => BearerError::Internal(e),
                _ => BearerError::InvalidToken,
            }
        })?;
        let claims = payload.claims_set();
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
        let int = |k: &str| claims.get(k).and_then(Value::as_i64);
        let aud: Vec<String> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => vec![],
        };
        let now = self.clock.unix();
        let (Some(sub), Some(client_id), Some(jti), Some(exp), Some(iat)) =
            (text("sub"), text("client_id"), text("jti"), int("exp"), int("iat"))
        else {
            return Err(BearerError::InvalidToken);
        };
        let valid = text("iss").as_deref() == Some(&*self.issuer)
            && !aud.is_empty()
            && exp + LEEWAY_SECS > now
            && iat <= now + LEEWAY_SECS;
        if !valid {
            return Err(BearerError::InvalidToken);
        }
        let scope = Scope::parse(&text("scope").unwrap_or_default()).map_err(|_| BearerError::InvalidToken)?;
        let gid = text("gid");
        if grants::access_recalled(&self.db, &jti, gid.as_deref()).await? {
            return Err(BearerError::InvalidToken);
        }
        Ok(AccessClaims { sub, client_id, scope, exp, iat, jti, gid, aud })
    }

    /// Userinfo (OIDC Core §5.3), the OpenID Connect resource of every client: the token must
    /// name the client it was issued to in `aud` (every access token we mint does) and carry
    /// `openid`; the user must still exist and be enabled.
    pub async fn userinfo(&self, token: &str) -> Result<Value, BearerError> {
        let claims = self.verify_any_access_token(token).await?;
        if !claims.aud.contains(&claims.client_id) {
            return Err(BearerError::InvalidToken);
        }
        if !claims.scope.contains(OPENID) {
            return Err(BearerError::InsufficientScope);
        }
        let id = UserId::parse(&claims.sub).ok_or(BearerError::InvalidToken)?;
        let user = users::find_by_id(&self.db, id).await?.filter(|u| !u.disabled).ok_or(BearerError::InvalidToken)?;
        Ok(Value::Object(user_claims(&user, &claims.scope)))
    }

    /// An `id_token_hint` (OIDC Core §3.1.2.1): ours and signed; expiry does not matter.
    /// Returns its `sub`, `aud` and `sid`.
    pub async fn verify_id_token_hint(&self, token: &str) -> Option<(String, Vec<String>, Option<String>)> {
        let payload = self.keys.verify(token, "jwt").await.ok()?;
        let claims = payload.claims_set();
        if claims.get("iss").and_then(Value::as_str) != Some(&*self.issuer) {
            return None;
        }
        let sub = claims.get("sub")?.as_str()?.to_string();
        let aud = match claims.get("aud")? {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => return None,
        };
        let sid = claims.get("sid").and_then(Value::as_str).map(str::to_string);
        Some((sub, aud, sid))
    }
}
