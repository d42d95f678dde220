//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2): parsed once, checked in a
//! visible order, then decided against the browser session.
//!
//! Until the client and its exact redirect URI are known, every error is a page; after that,
//! errors go back to the client with `state` and `iss` (RFC 9207).

use url::Url;

use super::client::{Client, GrantType};
use super::error::{RedirectError, UnredirectableError};
use super::pkce::CodeChallenge;
use super::provider::Provider;
use super::scope::{OFFLINE_ACCESS, Scope};
use super::tokens::Authentication;
use crate::audit::{Actor, Event, EventKind};
use crate::identity::user::User;
use crate::secret::{random_token, token_hash};
use crate::store::audit;
use crate::store::grants::{self, StoredCode};

/// Request parameters as received (query or form), in order. Empty values count as absent.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// Names whose values were not valid text.
    malformed: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParamError {
    Repeated,
    Malformed,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>, malformed: Vec<String>) -> Self {
        Self { pairs, malformed }
    }

    /// The single non-empty value of `name`.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ParamError> {
        if self.malformed.iter().any(|m| m == name) {
            return Err(ParamError::Malformed);
        }
        let mut values = self.pairs.iter().filter(|(k, v)| k == name && !v.is_empty());
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() { Err(ParamError::Repeated) } else { Ok(first) }
    }

    fn any_repeated(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        !self.malformed.is_empty()
            || self.pairs.iter().filter(|(_, v)| !v.is_empty()).any(|(k, _)| !seen.insert(k.as_str()))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    /// Exactly as the client sent it (the code is bound to it).
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: CodeChallenge,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// The `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    pub login_hint: Option<String>,
    /// `acr_values` asked for a second factor.
    pub wants_mfa: bool,
}

/// Where a refused request's answer goes.
#[derive(Debug)]
pub enum Rejection {
    Page(UnredirectableError),
    /// The server could not check the request (database unreachable): a page, never a redirect.
    Internal(anyhow::Error),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: RedirectError,
    },
}

/// The signed-in browser session, as the decision needs it.
#[derive(Debug, Clone)]
pub struct SessionAuth {
    pub user: User,
    pub auth: Authentication,
    /// The user signed in on our pages to complete this very request (and came straight back).
    pub signed_in_for_this_request: bool,
}

/// How long after such a sign-in the request it was made for still counts it as fresh.
const RESUME_AFTER_SIGN_IN_SECS: i64 = 60;

/// What to do with a valid request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the user to sign in, then back here.
    Login,
    /// Ask the user to approve the scopes.
    Consent,
    /// Issue a code now.
    Issue,
    /// Answer the client with an error.
    Reject(RedirectError),
}

impl Provider {
    /// Parses and checks an authorization request, in this order: client, redirect URI (both
    /// errors are pages), then everything else (errors redirect).
    pub async fn authorization_request(&self, params: &Params) -> Result<AuthorizationRequest, Rejection> {
        let page = |e| Err(Rejection::Page(e));
        let client_id = match params.get("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => return page(UnredirectableError::UnknownClient),
            Err(_) => return page(UnredirectableError::InvalidRequest("client_id must be given once")),
        };
        let Some(client) = self.client(client_id).await.map_err(Rejection::Internal)? else {
            return page(UnredirectableError::UnknownClient);
        };
        let redirect_uri = match params.get("redirect_uri") {
            Ok(Some(uri)) if client.redirect_uri(uri).is_some() => uri.to_string(),
            Ok(_) => return page(UnredirectableError::BadRedirectUri),
            Err(_) => return page(UnredirectableError::InvalidRequest("redirect_uri must be given once")),
        };

        // From here on, the client hears about errors on its redirect URI.
        let state = params.get("state").ok().flatten().map(str::to_string);
        let reject = |error: RedirectError| Rejection::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        };
        let checked = check_request(self, &client, params).await;
        let checked = checked.map_err(reject)?;
        Ok(AuthorizationRequest { client, redirect_uri, state, ..checked })
    }

    /// Decides what a valid request needs, given who is signed in.
    pub async fn decide(&self, req: &AuthorizationRequest, session: Option<&SessionAuth>) -> anyhow::Result<Decision> {
        let now = self.clock.unix();
        let Some(session) = session else {
            return Ok(if req.prompt.none { Decision::Reject(RedirectError::LoginRequired) } else { Decision::Login });
        };
        if req.hint_sub.as_ref().is_some_and(|sub| *sub != session.user.id.to_string()) {
            // Never a code for someone other than the user the client named.
            return Ok(Decision::Reject(RedirectError::LoginRequired));
        }
        // OIDC Core §3.1.2.1: max_age and prompt=login ask for an authentication during this
        // request. One that happened for it counts even when the clock ticked a second since.
        let just_now = session.signed_in_for_this_request && now - session.auth.auth_time <= RESUME_AFTER_SIGN_IN_SECS;
        let too_old = req.max_age.is_some_and(|max| now - session.auth.auth_time > max);
        if !just_now && (req.prompt.login || too_old) {
            return Ok(if req.prompt.none { Decision::Reject(RedirectError::LoginRequired) } else { Decision::Login });
        }
        if (req.wants_mfa || req.client.require_mfa) && !session.auth.has_second_factor() {
            // Step up: sign in again (with the second factor), or refuse when there is none.
            if crate::store::mfa::secret(&self.db, session.user.id).await?.is_none() {
                return Ok(Decision::Reject(RedirectError::UnmetAuthenticationRequirements));
            }
            return Ok(if req.prompt.none { Decision::Reject(RedirectError::LoginRequired) } else { Decision::Login });
        }
        if self.needs_consent(req, &session.user).await? {
            return Ok(if req.prompt.none {
                Decision::Reject(RedirectError::ConsentRequired)
            } else {
                Decision::Consent
            });
        }
        Ok(Decision::Issue)
    }

    async fn needs_consent(&self, req: &AuthorizationRequest, user: &User) -> anyhow::Result<bool> {
        if req.client.first_party && !req.prompt.consent {
            return Ok(false);
        }
        if req.prompt.consent {
            return Ok(true);
        }
        let granted = grants::consent(&self.db, user.id, &req.client.id).await?;
        let granted = granted.and_then(|s| Scope::parse(&s).ok()).unwrap_or_default();
        Ok(!req.scope.is_subset(&granted))
    }

    /// Records that the user approved the request's scopes (added to what they approved
    /// before), with its `consent.granted` event in the same transaction.
    pub async fn remember_consent(&self, req: &AuthorizationRequest, user: &User) -> anyhow::Result<()> {
        let tx = self.db.begin().await?;
        let before = grants::consent(&tx, user.id, &req.client.id).await?.unwrap_or_default();
        let merged = Scope::parse(&format!("{before} {}", req.scope)).unwrap_or_else(|_| req.scope.clone());
        grants::save_consent(&tx, user.id, &req.client.id, &merged.to_string(), self.clock.unix()).await?;
        let event = Event::new(EventKind::ConsentGranted)
            .actor(Actor::User(user.id))
            .user(user.id)
            .client(req.client.id.as_str())
            .detail("scope", req.scope.to_string())
            .detail("remembered_scope", merged.to_string());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await
    }

    /// Issues a code (single use, short-lived, bound to client, redirect URI and PKCE) and
    /// returns the redirect back to the client.
    pub async fn issue_code(&self, req: &AuthorizationRequest, session: &SessionAuth) -> anyhow::Result<String> {
        let now = self.clock.unix();
        let code = random_token();
        let grant_id = uuid::Uuid::now_v7().to_string();
        let offline = req.scope.contains(OFFLINE_ACCESS);
        let tx = self.db.begin().await?;
        grants::insert_grant(
            &tx,
            &grant_id,
            session.user.id,
            &req.client.id,
            session.auth.sid.as_deref(),
            offline,
            now,
        )
        .await?;
        let stored = StoredCode {
            grant_id,
            client_id: req.client.id.clone(),
            user_id: session.user.id.to_string(),
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.to_string(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.as_str().to_string(),
            auth_time: session.auth.auth_time,
            amr: session.auth.amr.join(" "),
            sid: session.auth.sid.clone(),
            expires_at: now + self.settings.code_ttl_secs,
            used_at: None,
        };
        grants::insert_code(&tx, &token_hash(&code), &stored).await?;
        tx.commit().await?;
        tracing::info!(client_id = %req.client.id, user_id = %session.user.id, "authorization code issued");
        Ok(self.redirect_with(&req.redirect_uri, &[("code", &code)], req.state.as_deref()))
    }

    /// The client's redirect URI with an error, `state` and `iss`.
    pub fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, error: &RedirectError) -> String {
        self.redirect_with(redirect_uri, &[("error", error.code()), ("error_description", error.description())], state)
    }

    fn redirect_with(&self, redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
        let Ok(mut url) = Url::parse(redirect_uri) else { return redirect_uri.to_string() };
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in params {
                query.append_pair(k, v);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        url.to_string()
    }
}

/// The checks after the redirect URI, in order. Fills every field but client, redirect URI
/// and state.
async fn check_request(
    provider: &Provider,
    client: &Client,
    params: &Params,
) -> Result<AuthorizationRequest, RedirectError> {
    use RedirectError::*;
    let one = |name| params.get(name).map_err(|_| InvalidRequest("a parameter was repeated or malformed"));
    if params.any_repeated() {
        return Err(InvalidRequest("a parameter was repeated or malformed"));
    }
    if one("request")?.is_some() {
        return Err(RequestNotSupported);
    }
    if one("request_uri")?.is_some() {
        return Err(RequestUriNotSupported);
    }
    match one("response_type")? {
        Some("code") => {}
        Some(_) => return Err(UnsupportedResponseType),
        None => return Err(InvalidRequest("response_type is required")),
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(UnauthorizedClient);
    }
    if !matches!(one("response_mode")?, None | Some("query")) {
        return Err(InvalidRequest("only response_mode=query is supported"));
    }
    let scope = Scope::parse(one("scope")?.unwrap_or_default()).map_err(InvalidScope)?;
    if scope.is_empty() {
        return Err(InvalidScope("scope is required"));
    }
    if !scope.is_subset(&client.allowed_scopes()) {
        return Err(InvalidScope("the client may not ask for this scope"));
    }
    let challenge = one("code_challenge")?.ok_or(InvalidRequest("code_challenge is required (PKCE S256)"))?;
    let code_challenge = CodeChallenge::parse(challenge, one("code_challenge_method")?).map_err(InvalidRequest)?;
    let mut prompt = Prompt::default();
    for value in one("prompt")?.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err(InvalidRequest("unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(InvalidRequest("prompt=none cannot be combined with other values"));
    }
    let max_age = match one("max_age")? {
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(InvalidRequest("max_age must be a non-negative integer"))?,
        ),
        None => None,
    };
    let nonce = one("nonce")?.map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(InvalidRequest("nonce is too long"));
    }
    let hint_sub = match one("id_token_hint")? {
        Some(hint) => match provider.verify_id_token_hint(hint).await {
            Some((sub, aud, _)) if aud.contains(&client.id) => Some(sub),
            _ => return Err(InvalidRequest("id_token_hint is not a valid ID token for this client")),
        },
        None => None,
    };
    let login_hint = one("login_hint")?.map(|h| h.chars().take(320).collect());
    let wants_mfa = one("acr_values")?.unwrap_or_default().split(' ').any(|v| v == super::tokens::ACR_MFA);
    Ok(AuthorizationRequest {
        client: client.clone(),
        redirect_uri: String::new(),
        scope,
        state: None,
        nonce,
        code_challenge,
        prompt,
        max_age,
        hint_sub,
        login_hint,
        wants_mfa,
    })
}

/// The authorization URL to come back to after signing in: the same request without
/// `prompt=login` (the user just did), so it cannot loop.
pub fn return_after_login(path: &str, params: &Params) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.pairs() {
        if k == "prompt" {
            let rest: Vec<&str> = v.split(' ').filter(|p| *p != "login" && !p.is_empty()).collect();
            if !rest.is_empty() {
                query.append_pair(k, &rest.join(" "));
            }
        } else {
            query.append_pair(k, v);
        }
    }
    format!("{path}?{}", query.finish())
}
