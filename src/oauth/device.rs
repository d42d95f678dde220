//! The device authorization grant's front half (RFC 8628 §3.1–3.3): a device asks for a
//! device code and a user code; a signed-in person enters the user code on `/device`, sees
//! the client and its scopes, and approves or denies. The token endpoint's half is
//! `grant/device_code.rs`.
//!
//! User codes are 8 letters from an alphabet without vowels or look-alikes (§6.1), shown as
//! two groups of four joined by a hyphen (`WDJB-MJHT`) and read back case-insensitively with or without the hyphen. About 34 bits:
//! guessing is throttled per person and per address (failed look-ups only, in a window).

use std::net::IpAddr;

use serde::Serialize;

use super::client::{Client, GrantType};
use super::error::TokenError;
use super::provider::Provider;
use super::scope::Scope;
use super::values::Amr;
use crate::audit::{Actor, Event, EventKind};
use crate::identity::throttle::{address_key, window_wait};
use crate::identity::user::UserId;
use crate::secret::{random_bytes, random_token, token_hash};
use crate::store::{audit, device_codes, throttle};

/// RFC 8628 §6.1: 20 consonants, no vowels (no words) and nothing that looks like a digit.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
pub const SLOW_DOWN_STEP_SECS: i64 = 5;
/// Failed user-code look-ups one person may make per window.
pub const GUESSES_PER_PERSON: u32 = 5;
/// Failed user-code look-ups one address may make per window.
pub const GUESSES_PER_ADDRESS: u32 = 20;
/// The guessing window, seconds.
pub const GUESS_WINDOW_SECS: i64 = 600;

/// A user code, normalized to its 8 letters.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserCode([redacted])")
    }
}

impl UserCode {
    /// Reads what a person typed: case-insensitive, hyphens and spaces ignored.
    pub fn parse(typed: &str) -> Option<Self> {
        let letters: String =
            typed.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        let ok = letters.len() == USER_CODE_LEN && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        ok.then_some(Self(letters))
    }

    /// A fresh code: each letter uniform over the alphabet (rejection sampling).
    fn generate() -> Self {
        let mut out = String::with_capacity(USER_CODE_LEN);
        while out.len() < USER_CODE_LEN {
            for b in random_bytes::<16>() {
                // 240 = 12 × 20: bytes above it would favour the first letters.
                if b < 240 && out.len() < USER_CODE_LEN {
                    out.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
                }
            }
        }
        Self(out)
    }

    /// Two groups of four letters joined by a hyphen (`WDJB-MJHT`), as shown to people.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    /// How it is stored: a hash in its own namespace.
    fn hash(&self) -> String {
        token_hash(&format!("user_code:{}", self.0))
    }
}

/// RFC 8628 §3.2: the device authorization response.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// What the person sees before answering.
#[derive(Debug, Clone)]
pub struct DevicePrompt {
    pub user_code: String,
    pub client: Client,
    pub scope: Scope,
}

/// Why a user code was not accepted on `/device`.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Not a code of ours, expired, or already answered.
    #[error("unknown or expired user code")]
    Unknown,
    /// Too many wrong codes lately: try again in this many seconds.
    #[error("too many wrong codes")]
    Throttled(i64),
    /// The client needs a second factor this session has not proven.
    #[error("this application needs a second factor")]
    NeedsSecondFactor,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The approving person, as the answer records them.
pub struct Approver<'a> {
    pub user: UserId,
    pub auth_time: i64,
    pub amr: &'a [Amr],
}

fn proved_second_factor(amr: &[Amr]) -> bool {
    amr.iter().any(|a| a.as_str() == "otp")
}

impl Provider {
    /// RFC 8628 §3.1–3.2 for an authenticated `client` that may use the device grant.
    pub async fn start_device_authorization(
        &self,
        client: &Client,
        asked: Option<Scope>,
        verification_uri: &str,
    ) -> Result<DeviceAuthorization, TokenError> {
        if !client.allows(GrantType::DeviceCode) {
            return Err(TokenError::UnauthorizedClient);
        }
        let allowed = client.allowed_scopes();
        let scope = match asked {
            Some(asked) if !asked.is_subset(&allowed) => {
                return Err(TokenError::InvalidScope("the client may not ask for this scope"));
            }
            Some(asked) => asked,
            None => allowed,
        };
        let now = self.clock.unix();
        let ttl = self.settings.device_code_ttl_secs;
        let interval = self.settings.device_poll_interval_secs;
        let device_code = random_token();
        for _ in 0..5 {
            let user_code = UserCode::generate();
            let new = device_codes::NewDevice {
                device_code_hash: &token_hash(&device_code),
                user_code_hash: &user_code.hash(),
                client_id: &client.id,
                scope: &scope,
                interval_secs: interval,
                created_at: now,
                expires_at: now + ttl,
            };
            let stored = device_codes::insert(&self.db, &new).await?;
            if stored {
                let mut complete = url::Url::parse(verification_uri).map_err(anyhow::Error::new)?;
                complete.query_pairs_mut().append_pair("user_code", &user_code.display());
                tracing::info!(client_id = %client.id, "device authorization started");
                return Ok(DeviceAuthorization {
                    device_code,
                    user_code: user_code.display(),
                    verification_uri: verification_uri.to_string(),
                    verification_uri_complete: complete.to_string(),
                    expires_in: ttl,
                    interval,
                });
            }
        }
        Err(TokenError::Internal(anyhow::anyhow!("no free user code after 5 draws")))
    }

    /// The pending request a typed user code names, for `person` at `ip`. A wrong code
    /// counts against both budgets; when either is spent, nothing is looked up.
    pub async fn device_prompt(&self, typed: &str, person: UserId, ip: IpAddr) -> Result<DevicePrompt, DeviceError> {
        let now = self.clock.unix();
        let keys = [
            (format!("device:user:{person}"), GUESSES_PER_PERSON),
            (format!("device:{}", address_key(ip)), GUESSES_PER_ADDRESS),
        ];
        for (key, max) in &keys {
            if let Some(wait) = window_wait(&self.db, key, *max, GUESS_WINDOW_SECS, now).await? {
                return Err(DeviceError::Throttled(wait));
            }
        }
        let found = match UserCode::parse(typed) {
            Some(code) => {
                device_codes::find_pending_by_user_code(&self.db, &code.hash(), now).await?.map(|stored| (code, stored))
            }
            None => None,
        };
        let Some((code, stored)) = found else {
            for (key, _) in &keys {
                throttle::add_window_failure(&self.db, key, now, GUESS_WINDOW_SECS).await?;
            }
            tracing::info!(user_id = %person, "unknown user code entered");
            return Err(DeviceError::Unknown);
        };
        let client = self.client(stored.client_id.as_str()).await?.ok_or(DeviceError::Unknown)?;
        Ok(DevicePrompt { user_code: code.display(), client, scope: stored.scope })
    }

    /// The person's answer to the request `typed` names: recorded once, with its audit
    /// event in the same transaction.
    pub async fn answer_device(&self, typed: &str, who: Approver<'_>, approve: bool) -> Result<(), DeviceError> {
        let now = self.clock.unix();
        let code = UserCode::parse(typed).ok_or(DeviceError::Unknown)?;
        let stored =
            device_codes::find_pending_by_user_code(&self.db, &code.hash(), now).await?.ok_or(DeviceError::Unknown)?;
        let client = self.client(stored.client_id.as_str()).await?.ok_or(DeviceError::Unknown)?;
        if approve && client.require_mfa && !proved_second_factor(who.amr) {
            return Err(DeviceError::NeedsSecondFactor);
        }
        let tx = self.db.begin().await?;
        if !device_codes::answer(&tx, &code.hash(), approve, who.user, who.auth_time, who.amr, now).await? {
            return Err(DeviceError::Unknown);
        }
        let kind = if approve { EventKind::DeviceApproved } else { EventKind::DeviceDenied };
        let event = Event::new(kind)
            .actor(Actor::User(who.user))
            .user(who.user)
            .client(client.id.as_str())
            .detail("scope", stored.scope.to_string());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        tracing::info!(client_id = %client.id, user_id = %who.user, approve, "device authorization answered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_code_reads_back_however_it_is_typed_and_only_from_its_alphabet() {
        let code = UserCode::generate();
        let shown = code.display();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        for typed in
            [shown.clone(), shown.to_lowercase(), shown.replace('-', ""), format!(" {} ", shown.replace('-', " "))]
        {
            assert_eq!(UserCode::parse(&typed), Some(code.clone()), "{typed:?}");
        }
        for bad in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", ""] {
            assert_eq!(UserCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn generated_codes_use_every_letter_and_differ() {
        let mut seen = std::collections::HashSet::new();
        let mut codes = std::collections::HashSet::new();
        for _ in 0..200 {
            let c = UserCode::generate();
            seen.extend(c.0.bytes());
            codes.insert(c.0);
        }
        assert_eq!(seen.len(), 20, "every letter appears");
        assert_eq!(codes.len(), 200, "no repeats in 200 draws");
    }
}
