//! Proving the second factor, under budgets that parallel requests cannot overdraw.
//!
//! * **Per account**: at most [`ACCOUNT_MAX_FAILURES`] wrong codes in [`ACCOUNT_WINDOW_SECS`],
//!   counted across sessions, tickets and surfaces (whoever guesses already knows the
//!   password). Each check first reserves a slot with one conditional statement; a full
//!   window refuses the attempt before any code is looked at; a success gives its slot back.
//! * **Per sign-in**: the step between the password and the second factor is a challenge
//!   stored server-side (the JSON `mfa_token`, or the hosted pages' pending step in the
//!   session). Each attempt is taken from it by a conditional `UPDATE … RETURNING` before the
//!   code is checked; after [`CHALLENGE_MAX_ATTEMPTS`] wrong codes, after
//!   [`CHALLENGE_SECS`], or once it succeeded, it is dead and the password is asked again.
//! * **Step-up**: with 2FA on, turning it off, enrolling a new authenticator and creating new
//!   recovery codes each need the password *and* a current code (or a recovery code).
//!   Codes that confirm an enrolment draw on the same per-account window.
//!
//! Every code actually checked against a secret is counted ([`Accounts::second_factor_checks`]).

use std::sync::atomic::Ordering;

use tracing::instrument;

use super::accounts::Accounts;
use super::mfa::{MfaError, SecondFactor, StepUpError, normalize, totp};
use super::user::{User, UserId};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::{mfa, second_factor as budgets};

/// Wrong second-factor attempts per account in a window before all are refused.
pub const ACCOUNT_MAX_FAILURES: u32 = 10;
pub const ACCOUNT_WINDOW_SECS: i64 = 900;
/// Attempts one sign-in challenge allows before the password must be entered again.
pub const CHALLENGE_MAX_ATTEMPTS: u32 = 5;
/// How long the step between password and second factor stays open.
pub const CHALLENGE_SECS: i64 = 300;

/// Why a challenge was not passed.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// Wrong, reused or throttled code; the challenge allows `attempts_left` more.
    #[error("the code is not valid")]
    InvalidCode { attempts_left: u32 },
    /// Unknown, expired, used, or out of attempts: sign in again with the password.
    #[error("the sign-in step is over")]
    Over,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Names a challenge: the SHA-256 of its token, which is all that is stored (the hosted
/// pages keep this in the session; the token itself goes only to a JSON client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeId(String);

impl ChallengeId {
    pub fn of_token(token: &Secret) -> Self {
        Self(token_hash(token.expose()))
    }

    /// An id kept earlier (in a session).
    pub fn from_kept(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fresh challenge: the token for a JSON client, and its id.
#[derive(Debug)]
pub struct Challenge {
    pub token: Secret,
    pub id: ChallengeId,
}

fn account_budget(user: UserId) -> String {
    format!("mfa:{user}")
}

impl Accounts {
    /// How many second-factor codes have been checked against a secret since start: the
    /// attempts the budgets admitted. For operators' figures and for tests that count.
    pub fn second_factor_checks(&self) -> u64 {
        self.second_factor_checks.load(Ordering::Relaxed)
    }

    /// After a correct password for an account with 2FA: a fresh single-use challenge
    /// (256 bits; only its SHA-256 is stored) for the second step.
    #[instrument(skip_all, fields(user_id = %user))]
    pub async fn open_second_factor_challenge(&self, user: UserId) -> anyhow::Result<Challenge> {
        let token = Secret::new(random_token());
        let id = ChallengeId::of_token(&token);
        let now = self.clock.unix();
        budgets::insert_challenge(&self.db, id.as_str(), user, now, now + CHALLENGE_SECS).await?;
        Ok(Challenge { token, id })
    }

    /// The second step of a sign-in: one attempt from the challenge, then one from the
    /// account's window, and only then the code. A success uses the challenge up.
    #[instrument(skip_all, fields(user_id = tracing::field::Empty))]
    pub async fn pass_second_factor_challenge(
        &self,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<(UserId, SecondFactor), ChallengeError> {
        let now = self.clock.unix();
        let hash = challenge.as_str();
        let attempt =
            budgets::take_attempt(&self.db, hash, CHALLENGE_MAX_ATTEMPTS, now).await?.ok_or(ChallengeError::Over)?;
        let attempts_left = CHALLENGE_MAX_ATTEMPTS.saturating_sub(attempt.attempts);
        tracing::Span::current().record("user_id", tracing::field::display(attempt.user_id));
        match self.verify_second_factor(attempt.user_id, code).await {
            Ok(factor) if budgets::use_challenge(&self.db, hash, now).await? => Ok((attempt.user_id, factor)),
            // A parallel attempt with another valid factor used the challenge first.
            Ok(_) => Err(ChallengeError::Over),
            Err(MfaError::Internal(e)) => Err(ChallengeError::Internal(e)),
            Err(_) => Err(ChallengeError::InvalidCode { attempts_left }),
        }
    }

    /// A TOTP code (once per step) or an unused recovery code, within the account's window.
    /// Wrong, reused and throttled codes get one answer.
    #[instrument(skip_all, fields(user_id = %user))]
    pub async fn verify_second_factor(&self, user: UserId, code: &str) -> Result<SecondFactor, MfaError> {
        let now = self.clock.unix();
        if !self.reserve_account_attempt(user, now).await? {
            metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "second_factor_throttled")
                .increment(1);
            return Err(MfaError::InvalidCode);
        }
        let outcome = self.check_second_factor(user, code, now).await?;
        let result = if outcome.is_some() { "second_factor_ok" } else { "second_factor_failed" };
        metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => result).increment(1);
        match outcome {
            Some(factor) => {
                self.release_account_attempt(user).await?;
                Ok(factor)
            }
            None => Err(MfaError::InvalidCode),
        }
    }

    /// Takes one attempt from the account's window before a code is checked; false when the
    /// window is full (then nothing may be checked).
    pub(super) async fn reserve_account_attempt(&self, user: UserId, now: i64) -> anyhow::Result<bool> {
        budgets::reserve_window_slot(&self.db, &account_budget(user), ACCOUNT_MAX_FAILURES, ACCOUNT_WINDOW_SECS, now)
            .await
    }

    /// A right code gives its attempt back: only wrong codes use up the window.
    pub(super) async fn release_account_attempt(&self, user: UserId) -> anyhow::Result<()> {
        budgets::release_window_slot(&self.db, &account_budget(user)).await
    }

    /// The one place a code meets the secret; call only with a reserved budget slot.
    async fn check_second_factor(&self, user: UserId, code: &str, now: i64) -> anyhow::Result<Option<SecondFactor>> {
        self.second_factor_checks.fetch_add(1, Ordering::Relaxed);
        let Some(sealed) = mfa::secret(&self.db, user).await? else { return Ok(None) };
        let code = normalize(code);
        if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            let secret = self.totp_box.open(&sealed)?;
            let t = totp(&secret, &self.totp_issuer, "")?;
            let Some(step) = t.check(&code, now.max(0) as u64) else { return Ok(None) };
            return Ok(mfa::accept_step(&self.db, user, step as i64).await?.then_some(SecondFactor::Totp));
        }
        let keyed = self.recovery_key.hash(&code)?;
        let rekeyed_legacy = self.recovery_key.hash(&token_hash(&code))?;
        if mfa::use_recovery_code(&self.db, user, &keyed, &rekeyed_legacy, now).await? {
            let remaining = mfa::recovery_codes_left(&self.db, user).await?;
            tracing::info!(remaining, "recovery code used");
            return Ok(Some(SecondFactor::RecoveryCode { remaining }));
        }
        Ok(None)
    }

    /// Re-authentication for changes to the second factor itself: the password, and with
    /// 2FA on also a current code or a recovery code (a stolen password alone must not be
    /// able to replace the authenticator or mint new recovery codes).
    pub(super) async fn step_up(&self, user: &User, current: &Secret, code: &str) -> Result<(), StepUpError> {
        self.check_current_password(user, current).await?;
        if !self.mfa_enabled(user.id).await? {
            return Ok(());
        }
        if code.trim().is_empty() {
            return Err(StepUpError::CodeRequired);
        }
        self.verify_second_factor(user.id, code).await?;
        Ok(())
    }

    /// Start-up: recovery codes stored as plain SHA-256 (before keyed hashes) are re-keyed
    /// in place as HMAC(SHA-256(code)), so no row a database reader can grind remains. They
    /// keep working, once each, until used or replaced.
    pub async fn rekey_legacy_recovery_codes(&self) -> anyhow::Result<usize> {
        let legacy = mfa::legacy_recovery_hashes(&self.db).await?;
        for hash in &legacy {
            mfa::rekey_legacy_recovery_hash(&self.db, hash, &self.recovery_key.hash(hash)?).await?;
        }
        if !legacy.is_empty() {
            tracing::info!(count = legacy.len(), "legacy recovery codes re-keyed");
        }
        Ok(legacy.len())
    }
}
