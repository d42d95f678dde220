//! A passkey as the second step of a password sign-in (instead of a TOTP code): the same
//! server-side challenge as the code step (`identity::second_factor`) counts the attempt
//! first and is used up by the success, so a passkey and a code cannot both finish one
//! sign-in, and refusals are budgeted alike. Only the account's own passkeys are offered
//! and accepted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::PublicKeyCredential;

use super::credential::Use;
use super::sign_in::{SignInStarted, amr_of};
use super::{PasskeyError, PendingKind, rejected};
use crate::audit::{Actor, Event, EventKind};
use crate::identity::accounts::Accounts;
use crate::identity::second_factor::ChallengeId;
use crate::identity::sign_in_events::{SignInFailure, sign_in_failed, sign_in_succeeded};
use crate::identity::surface::Surface;
use crate::identity::user::{User, UserId};
use crate::store::passkeys as store;
use crate::store::{audit, second_factor as budgets, users};

/// Attempts one second-step challenge allows (the same as for codes).
const MAX_ATTEMPTS: u32 = 5;

impl Accounts {
    /// Whether `user` has a passkey (the second step then offers it).
    pub async fn has_passkeys(&self, user: UserId) -> anyhow::Result<bool> {
        Ok(self.passkeys.enabled() && store::count_for_user(&self.db, user).await? > 0)
    }

    /// Starts the second step with one of `user`'s passkeys.
    pub async fn begin_passkey_second_factor(&self, user: UserId) -> Result<SignInStarted, PasskeyError> {
        let stored = store::list_for_user(&self.db, user).await?;
        if stored.is_empty() {
            return Err(PasskeyError::UnknownCredential);
        }
        let keys = stored.iter().map(super::sign_in::for_ceremony).collect::<anyhow::Result<Vec<_>>>()?;
        let (rcr, state) = self
            .passkeys
            .webauthn()?
            .start_passkey_authentication(&keys)
            .map_err(|e| anyhow::Error::new(e).context("starting a passkey second step"))?;
        let options = serde_json::to_value(&rcr).map_err(anyhow::Error::new)?;
        let kind = PendingKind::SecondFactor { user, state: Box::new(state) };
        let ceremony = self.passkeys.keep(kind, self.clock.unix())?;
        Ok(SignInStarted { options, ceremony })
    }

    /// Finishes the second step: an attempt from the sign-in's challenge, the answer (the
    /// account's own passkey, verified by the library), the counter rule, then the challenge
    /// used up with `sign_in.succeeded` (`password+passkey`) in one transaction. Returns the
    /// user and the methods after `pwd`.
    pub async fn finish_passkey_second_factor(
        &self,
        challenge: &ChallengeId,
        ceremony: &super::CeremonyId,
        answer: &serde_json::Value,
        surface: Surface,
    ) -> Result<(User, Vec<&'static str>), PasskeyError> {
        let now = self.clock.unix();
        let attempt = budgets::take_attempt(&self.db, challenge.as_str(), MAX_ATTEMPTS, now)
            .await?
            .ok_or(PasskeyError::NoCeremony)?;
        let user = attempt.user_id;
        let verified = self.verify_second_step(user, ceremony, answer, now).await;
        let (found, result) = match verified {
            Ok(ok) => ok,
            Err(PasskeyError::Internal(e)) => return Err(PasskeyError::Internal(e)),
            Err(e) => {
                audit::append(
                    &self.db,
                    self.clock.now_ms(),
                    &sign_in_failed(user, SignInFailure::SecondFactor, surface),
                )
                .await?;
                return Err(e);
            }
        };
        let tx = self.db.begin().await?;
        if !budgets::use_challenge(&tx, challenge.as_str(), now).await? {
            return Err(PasskeyError::NoCeremony);
        }
        let Some(account) = users::find_by_id(&tx, user).await?.filter(|u| !u.disabled) else {
            audit::append(&tx, self.clock.now_ms(), &sign_in_failed(user, SignInFailure::Disabled, surface)).await?;
            tx.commit().await?;
            return Err(PasskeyError::Disabled);
        };
        let used = Use { sign_count: i64::from(result.counter()), backup_state: result.backup_state(), at: now };
        store::record_use(&tx, &found.id, used).await?;
        let proved = Event::new(EventKind::SecondFactorSucceeded)
            .actor(Actor::User(user))
            .user(user)
            .detail("method", "passkey")
            .detail("context", "sign_in");
        audit::append(&tx, self.clock.now_ms(), &proved).await?;
        let signed_in = sign_in_succeeded(user, "password+passkey", surface).detail("passkey_id", found.id.as_str());
        audit::append(&tx, self.clock.now_ms(), &signed_in).await?;
        tx.commit().await?;
        Ok((account, amr_of(result.backup_eligible(), result.user_verified())))
    }

    async fn verify_second_step(
        &self,
        user: UserId,
        ceremony: &super::CeremonyId,
        answer: &serde_json::Value,
        now: i64,
    ) -> Result<(super::credential::StoredPasskey, webauthn_rs::prelude::AuthenticationResult), PasskeyError> {
        let PendingKind::SecondFactor { user: owner, state } = self.passkeys.take(ceremony, now)? else {
            return Err(PasskeyError::NoCeremony);
        };
        if owner != user {
            return Err(PasskeyError::NoCeremony);
        }
        let cred: PublicKeyCredential = serde_json::from_value(answer.clone())
            .map_err(|_| PasskeyError::Rejected("it is not a valid passkey answer"))?;
        let found = store::find_by_credential_id(&self.db, &URL_SAFE_NO_PAD.encode(cred.get_credential_id()))
            .await?
            .ok_or(PasskeyError::UnknownCredential)?;
        if found.user_id != user {
            return Err(PasskeyError::WrongUser);
        }
        let result = self.passkeys.webauthn()?.finish_passkey_authentication(&cred, &state).map_err(rejected)?;
        self.check_counter(&found, &result).await?;
        Ok((found, result))
    }
}
