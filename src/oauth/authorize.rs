//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2): parsed once, checked in a
//! visible order, then decided against the browser session.
//!
//! Until the client and its exact redirect URI are known, every error is a page; after that,
//! errors go back to the client with `state` and `iss` (RFC 9207).

use url::Url;

use super::client::{Client, ClientId, GrantType};
use super::error::{RedirectError, UnredirectableError};
use super::grant::GrantId;
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
        let client = self.requested_client(params).await?;
        let redirect_uri = registered_redirect_uri(&client, params).map_err(Rejection::Page)?;
        // From here on, the client hears about errors on its redirect URI.
        let state = params.get("state").ok().flatten().map(str::to_string);
        let back_to = (redirect_uri.clone(), state.clone());
        let reject = |error| Rejection::Redirect { redirect_uri: back_to.0, state: back_to.1, error };
        check_request(self, client, redirect_uri, state, params).await.map_err(reject)
    }

    /// The registered client named by `client_id` (a page when missing, repeated or unknown).
    async fn requested_client(&self, params: &Params) -> Result<Client, Rejection> {
        let client_id = match params.get("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => return Err(Rejection::Page(UnredirectableError::UnknownClient)),
            Err(_) => {
                return Err(Rejection::Page(UnredirectableError::InvalidRequest("client_id must be given once")));
            }
        };
        self.client(client_id)
            .await
            .map_err(Rejection::Internal)?
            .ok_or(Rejection::Page(UnredirectableError::UnknownClient))
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
        let grant_id = GrantId::generate();
        let offline = req.scope.contains(OFFLINE_ACCESS);
        let tx = self.db.begin().await?;
        grants::insert_grant(
            &tx,
            grant_id.as_str(),
            session.user.id,
            &req.client.id,
            session.auth.sid.as_deref(),
            offline,
            now,
        )
        .await?;
        let stored = StoredCode {
            grant_id,
            client_id: ClientId::new(req.client.id.as_str()),
            user_id: session.user.id,
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.as_str().to_string(),
            auth_time: session.auth.auth_time,
            amr: session.auth.amr.clone(),
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

/// The `redirect_uri` exactly as sent, when it matches one the client registered.
fn registered_redirect_uri(client: &Client, params: &Params) -> Result<String, UnredirectableError> {
    match params.get("redirect_uri") {
        Ok(Some(uri)) if client.redirect_uri(uri).is_some() => Ok(uri.to_string()),
        Ok(_) => Err(UnredirectableError::BadRedirectUri),
        Err(_) => Err(UnredirectableError::InvalidRequest("redirect_uri must be given once")),
    }
}

/// The checks after the redirect URI, in this order; the first that fails is the answer.
async fn check_request(
    provider: &Provider,
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    params: &Params,
) -> Result<AuthorizationRequest, RedirectError> {
    each_parameter_once(params)?;
    no_request_object(params)?;
    response_type_code(params)?;
    client_may_use_code_flow(&client)?;
    response_mode_query(params)?;
    let scope = allowed_scope(&client, params)?;
    let code_challenge = code_challenge(params)?;
    let prompt = prompt(params)?;
    let max_age = max_age(params)?;
    let nonce = nonce(params)?;
    let hint_sub = id_token_hint_sub(provider, &client, params).await?;
    let login_hint = login_hint(params)?;
    let wants_mfa = acr_values_want_mfa(params)?;
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        hint_sub,
        login_hint,
        wants_mfa,
    })
}

const REPEATED: RedirectError = RedirectError::InvalidRequest("a parameter was repeated or malformed");

/// The single non-empty value of `name`.
fn one<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, RedirectError> {
    params.get(name).map_err(|_| REPEATED)
}

fn each_parameter_once(params: &Params) -> Result<(), RedirectError> {
    if params.any_repeated() { Err(REPEATED) } else { Ok(()) }
}

/// JAR (`request`) and `request_uri` are refused for now, each with its own code.
fn no_request_object(params: &Params) -> Result<(), RedirectError> {
    if one(params, "request")?.is_some() {
        return Err(RedirectError::RequestNotSupported);
    }
    if one(params, "request_uri")?.is_some() {
        return Err(RedirectError::RequestUriNotSupported);
    }
    Ok(())
}

fn response_type_code(params: &Params) -> Result<(), RedirectError> {
    match one(params, "response_type")? {
        Some("code") => Ok(()),
        Some(_) => Err(RedirectError::UnsupportedResponseType),
        None => Err(RedirectError::InvalidRequest("response_type is required")),
    }
}

fn client_may_use_code_flow(client: &Client) -> Result<(), RedirectError> {
    if client.allows(GrantType::AuthorizationCode) { Ok(()) } else { Err(RedirectError::UnauthorizedClient) }
}

fn response_mode_query(params: &Params) -> Result<(), RedirectError> {
    match one(params, "response_mode")? {
        None | Some("query") => Ok(()),
        Some(_) => Err(RedirectError::InvalidRequest("only response_mode=query is supported")),
    }
}

/// A non-empty scope, within what the client may ask for.
fn allowed_scope(client: &Client, params: &Params) -> Result<Scope, RedirectError> {
    let scope = Scope::parse(one(params, "scope")?.unwrap_or_default()).map_err(RedirectError::InvalidScope)?;
    if scope.is_empty() {
        return Err(RedirectError::InvalidScope("scope is required"));
    }
    if !scope.is_subset(&client.allowed_scopes()) {
        return Err(RedirectError::InvalidScope("the client may not ask for this scope"));
    }
    Ok(scope)
}

/// PKCE is required, S256 only.
fn code_challenge(params: &Params) -> Result<CodeChallenge, RedirectError> {
    let challenge = one(params, "code_challenge")?
        .ok_or(RedirectError::InvalidRequest("code_challenge is required (PKCE S256)"))?;
    CodeChallenge::parse(challenge, one(params, "code_challenge_method")?).map_err(RedirectError::InvalidRequest)
}

fn prompt(params: &Params) -> Result<Prompt, RedirectError> {
    let mut prompt = Prompt::default();
    for value in one(params, "prompt")?.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err(RedirectError::InvalidRequest("unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(RedirectError::InvalidRequest("prompt=none cannot be combined with other values"));
    }
    Ok(prompt)
}

fn max_age(params: &Params) -> Result<Option<i64>, RedirectError> {
    let Some(v) = one(params, "max_age")? else { return Ok(None) };
    let max_age = v.parse::<i64>().ok().filter(|n| *n >= 0);
    max_age.map(Some).ok_or(RedirectError::InvalidRequest("max_age must be a non-negative integer"))
}

fn nonce(params: &Params) -> Result<Option<String>, RedirectError> {
    let nonce = one(params, "nonce")?;
    if nonce.is_some_and(|n| n.len() > 512) {
        return Err(RedirectError::InvalidRequest("nonce is too long"));
    }
    Ok(nonce.map(str::to_string))
}

/// The `sub` of an `id_token_hint`, which must be a valid ID token we issued to this client.
async fn id_token_hint_sub(
    provider: &Provider,
    client: &Client,
    params: &Params,
) -> Result<Option<String>, RedirectError> {
    let Some(hint) = one(params, "id_token_hint")? else { return Ok(None) };
    match provider.verify_id_token_hint(hint).await {
        Some((sub, aud, _)) if aud.contains(&client.id) => Ok(Some(sub)),
        _ => Err(RedirectError::InvalidRequest("id_token_hint is not a valid ID token for this client")),
    }
}

/// At most 320 characters are kept (an e-mail address's limit).
fn login_hint(params: &Params) -> Result<Option<String>, RedirectError> {
    Ok(one(params, "login_hint")?.map(|h| h.chars().take(320).collect()))
}

fn acr_values_want_mfa(params: &Params) -> Result<bool, RedirectError> {
    Ok(one(params, "acr_values")?.unwrap_or_default().split(' ').any(|v| v == super::tokens::ACR_MFA))
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
