//! Passkeys (WebAuthn, via `webauthn-rs`): the relying party built from the configuration,
//! and the ceremonies waiting for their answer. A ceremony's state never leaves the server: it
//! is kept here under a random id that only the browser session (or, for the JSON API, the
//! caller) holds, lives at most [`CEREMONY_SECS`], and is taken out exactly once (a mutex
//! around the map makes the take atomic), so a challenge cannot be answered twice, late, or
//! from another session.
//!
//! What the ceremonies decide lives beside this file: `registration.rs` (adding, renaming,
//! removing passkeys) and `sign_in.rs` (passwordless sign-in) and `second_step.rs` (after a password).

/// The stored passkey, as the store and the ceremonies share it.
pub mod credential;
/// Adding, listing, renaming and removing a person's passkeys.
pub mod registration;
/// A passkey as the second step after a password.
pub mod second_step;
/// Signing in with a passkey and no username (discoverable credentials).
pub mod sign_in;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration, Url, Webauthn, WebauthnBuilder,
};

use super::user::UserId;
use crate::secret::random_token;

/// How long a challenge may be answered (WebAuthn's recommended ceiling is 10 minutes; the
/// issue asks for at most 5).
pub const CEREMONY_SECS: i64 = 300;
/// Ceremonies waiting at once, in all: a flood of begins cannot grow memory without bound.
const MAX_PENDING: usize = 10_000;

/// The relying party: the `webauthn-rs` instance and the waiting ceremonies.
#[derive(Clone)]
pub struct RelyingParty {
    /// None when the issuer's host is an IP address and no RP ID is configured: WebAuthn
    /// needs a domain (`localhost` counts), so passkeys are off on such a server.
    webauthn: Option<Arc<Webauthn>>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
    /// Refuse an assertion whose sign counter did not grow (else: flag, notify, accept).
    refuse_counter_regression: bool,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("enabled", &self.webauthn.is_some())
            .field("refuse_counter_regression", &self.refuse_counter_regression)
            .finish()
    }
}

/// The id of a waiting ceremony: a random token the session keeps (never the challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyId(String);

impl CeremonyId {
    /// An id as a session or an API caller handed it back.
    pub fn from_kept(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One ceremony waiting for the authenticator's answer.
pub(crate) struct Pending {
    expires_at: i64,
    kind: PendingKind,
}

pub(crate) enum PendingKind {
    /// Adding a passkey to `user`'s account.
    Register { user: UserId, state: Box<PasskeyRegistration> },
    /// A passwordless sign-in: whoever's discoverable credential answers.
    Discover { state: Box<DiscoverableAuthentication> },
    /// The second step of `user`'s sign-in (their passkeys only).
    SecondFactor { user: UserId, state: Box<PasskeyAuthentication> },
}

/// Why a ceremony could not start or finish. Every refusal leaves no session behind.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// No waiting ceremony by that id: never started, answered already, or another session's.
    #[error("this passkey request is not open (it was used already or belongs to another page)")]
    NoCeremony,
    /// The ceremony waited longer than [`CEREMONY_SECS`].
    #[error("this passkey request expired")]
    Expired,
    /// The credential is not registered here.
    #[error("this passkey is not registered here")]
    UnknownCredential,
    /// The credential belongs to another account than the one the answer names or is for.
    #[error("this passkey belongs to another account")]
    WrongUser,
    /// The sign counter did not grow (a possible cloned authenticator), and the
    /// configuration refuses such assertions.
    #[error("this passkey's signature counter went backwards")]
    CounterRegressed,
    /// The authenticator's answer failed verification (origin, RP ID, challenge, signature,
    /// user verification …); the library's reason is in the log only.
    #[error("the passkey's answer was not accepted: {0}")]
    Rejected(&'static str),
    /// Too many failed sign-ins from this address.
    #[error("too many failed sign-ins from this address")]
    TooManyFromAddress { retry_after_secs: i64 },
    /// Too many ceremonies are waiting on this server.
    #[error("too many passkey requests are waiting")]
    Busy,
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// Passkeys are off on this server (its issuer has no domain name).
    #[error("passkeys are not available on this server")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl RelyingParty {
    /// The relying party for `issuer` (its origin is the only one allowed), with `rp_id` the
    /// domain passkeys are scoped to (empty: the issuer's host; a parent domain of it lets
    /// sibling hosts share passkeys). An issuer on an IP address with no RP ID configured
    /// gets no passkeys (logged); a configured RP ID that does not fit the issuer is an error.
    pub fn new(issuer: &str, rp_id: &str, rp_name: &str, refuse_counter_regression: bool) -> anyhow::Result<Self> {
        let origin = Url::parse(issuer).context("the issuer is not a URL")?;
        let rp_id = match (rp_id.is_empty(), origin.domain()) {
            (false, _) => rp_id.to_string(),
            (true, Some(domain)) => domain.to_string(),
            (true, None) => {
                tracing::info!(
                    issuer,
                    "passkeys are off: the issuer's host is not a domain name (set account.passkey_rp_id)"
                );
                return Ok(Self { webauthn: None, pending: Default::default(), refuse_counter_regression });
            }
        };
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .with_context(|| format!("passkey RP ID {rp_id:?} does not fit the issuer {issuer}"))?
            .rp_name(rp_name)
            .timeout(std::time::Duration::from_secs(CEREMONY_SECS as u64))
            .build()
            .context("building the passkey relying party")?;
        Ok(Self { webauthn: Some(Arc::new(webauthn)), pending: Default::default(), refuse_counter_regression })
    }

    pub(crate) fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.webauthn.as_deref().ok_or(PasskeyError::Unavailable)
    }

    /// Whether passkeys work on this server.
    pub fn enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    /// Keeps a ceremony until `now + CEREMONY_SECS`; expired ones are dropped on the way.
    pub(crate) fn keep(&self, kind: PendingKind, now: i64) -> Result<CeremonyId, PasskeyError> {
        let mut pending = self.pending.lock().map_err(|_| anyhow::anyhow!("passkey ceremonies lock poisoned"))?;
        pending.retain(|_, p| p.expires_at > now);
        if pending.len() >= MAX_PENDING {
            return Err(PasskeyError::Busy);
        }
        let id = random_token();
        pending.insert(id.clone(), Pending { expires_at: now + CEREMONY_SECS, kind });
        Ok(CeremonyId(id))
    }

    /// Takes the ceremony out (once: a second take finds nothing), refusing an expired one.
    pub(crate) fn take(&self, id: &CeremonyId, now: i64) -> Result<PendingKind, PasskeyError> {
        let taken = {
            let mut pending = self.pending.lock().map_err(|_| anyhow::anyhow!("passkey ceremonies lock poisoned"))?;
            pending.remove(&id.0)
        };
        match taken {
            None => Err(PasskeyError::NoCeremony),
            Some(p) if p.expires_at <= now => Err(PasskeyError::Expired),
            Some(p) => Ok(p.kind),
        }
    }

    pub(crate) fn refuses_counter_regression(&self) -> bool {
        self.refuse_counter_regression
    }
}

/// The library's refusal as a short public reason (the full error goes to the log).
pub(crate) fn rejected(e: webauthn_rs::prelude::WebauthnError) -> PasskeyError {
    use webauthn_rs::prelude::WebauthnError as W;
    tracing::info!(error = ?e, "passkey answer refused");
    PasskeyError::Rejected(match e {
        W::InvalidRPOrigin => "it was made for another site (origin)",
        W::InvalidRPIDHash => "it was made for another site (RP ID)",
        W::MismatchedChallenge => "it answers another request",
        W::UserNotVerified => "the authenticator did not verify you (PIN or biometrics)",
        W::UserNotPresent => "the authenticator did not confirm your presence",
        W::InvalidUserUniqueId => "it names no account",
        W::CredentialPossibleCompromise => "its signature counter went backwards",
        _ => "it is not a valid passkey answer",
    })
}
