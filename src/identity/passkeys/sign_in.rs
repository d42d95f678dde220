//! Signing in with a passkey and no username (a discoverable credential with user
//! verification). It goes through the same bookkeeping as a password sign-in: the address's
//! failure budget is asked first and charged on a refusal, each outcome is a `sign_in.*` audit
//! event, and a success mints a known-device token (which sends the new-device notice). The
//! surface then rotates the session id (`BrowserSession::log_in`) and resumes the pending
//! authorization request, exactly as after a password.
//!
//! Sign counters: when the authenticator keeps one (non-zero) and it did not grow, the
//! credential is flagged, `passkey.counter_regressed` recorded and the owner mailed; the
//! assertion is then refused unless `account.passkey_refuse_counter_regression` is off.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{AuthenticationResult, Passkey, PublicKeyCredential};

use super::credential::{StoredPasskey, Use};
use super::{CeremonyId, PasskeyError, PendingKind, rejected};
use crate::audit::{Actor, Event, EventKind};
use crate::identity::accounts::Accounts;
use crate::identity::sign_in_events::{SignInFailure, sign_in_failed, sign_in_succeeded};
use crate::identity::surface::Surface;
use crate::identity::throttle;
use crate::identity::user::User;
use crate::secret::Secret;
use crate::store::passkeys as store;
use crate::store::{audit, users};

/// The options to hand to `navigator.credentials.get()` (`{"publicKey": …, "mediation": …}`).
#[derive(Debug)]
pub struct SignInStarted {
    pub options: serde_json::Value,
    pub ceremony: CeremonyId,
}

/// A completed passkey sign-in.
#[derive(Debug)]
pub struct PasskeySignedIn {
    pub user: User,
    /// RFC 8176 methods: `hwk` (device-bound) or `swk` (synced, backup eligible), `user`
    /// (user verification was performed), and `mfa` (possession plus verification).
    pub amr: Vec<&'static str>,
    /// A new known-device token for the browser.
    pub new_device_token: Secret,
}

/// RFC 8176 methods of an assertion: the key's kind, then `user` and `mfa` when the
/// authenticator verified the person.
pub fn amr_of(backup_eligible: bool, user_verified: bool) -> Vec<&'static str> {
    let mut amr = vec![if backup_eligible { "swk" } else { "hwk" }];
    if user_verified {
        amr.extend(["user", "mfa"]);
    }
    amr
}

impl Accounts {
    /// Starts a passwordless sign-in: no username, any discoverable credential of this site.
    pub async fn begin_passkey_sign_in(&self) -> Result<SignInStarted, PasskeyError> {
        let (rcr, state) = self
            .passkeys
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(|e| anyhow::Error::new(e).context("starting a passkey sign-in"))?;
        let options = serde_json::to_value(&rcr).map_err(anyhow::Error::new)?;
        let ceremony = self.passkeys.keep(PendingKind::Discover { state: Box::new(state) }, self.clock.unix())?;
        Ok(SignInStarted { options, ceremony })
    }

    /// Finishes a passwordless sign-in with the authenticator's answer. Every refusal charges
    /// the address's failure budget and records `sign_in.failed`.
    pub async fn finish_passkey_sign_in(
        &self,
        ceremony: &CeremonyId,
        answer: &serde_json::Value,
        client_ip: IpAddr,
        surface: Surface,
    ) -> Result<PasskeySignedIn, PasskeyError> {
        let now = self.clock.unix();
        if let Some(retry_after_secs) = throttle::address_wait(&self.db, client_ip, now, &self.login).await? {
            audit::append(&self.db, self.clock.now_ms(), &sign_in_failed(None, SignInFailure::Throttled, surface))
                .await?;
            return Err(PasskeyError::TooManyFromAddress { retry_after_secs });
        }
        match self.verify_discoverable(ceremony, answer, now).await {
            Ok((user, found, result)) => self.passkey_signed_in(user, found, result, surface, now).await,
            Err((named, e)) => {
                if !matches!(e, PasskeyError::Internal(_)) {
                    let tx = self.db.begin().await?;
                    throttle::address_failed(&tx, client_ip, now, &self.login).await?;
                    audit::append(&tx, self.clock.now_ms(), &sign_in_failed(named, SignInFailure::Passkey, surface))
                        .await?;
                    tx.commit().await?;
                    metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "failure").increment(1);
                }
                Err(e)
            }
        }
    }

    /// The checks of a passwordless answer, in order: the ceremony (once, in time), the
    /// credential (registered, and the account the answer names), the signature and flags
    /// (the library: origin, RP ID, challenge, user verification), the sign counter.
    async fn verify_discoverable(
        &self,
        ceremony: &CeremonyId,
        answer: &serde_json::Value,
        now: i64,
    ) -> Result<(User, StoredPasskey, AuthenticationResult), (Option<crate::identity::user::UserId>, PasskeyError)>
    {
        let PendingKind::Discover { state } = self.passkeys.take(ceremony, now).map_err(|e| (None, e))? else {
            return Err((None, PasskeyError::NoCeremony));
        };
        let cred: PublicKeyCredential = serde_json::from_value(answer.clone())
            .map_err(|_| (None, PasskeyError::Rejected("it is not a valid passkey answer")))?;
        let (handle, cred_id) = self
            .passkeys
            .webauthn()
            .map_err(|e| (None, e))?
            .identify_discoverable_authentication(&cred)
            .map_err(|e| (None, rejected(e)))?;
        let found = store::find_by_credential_id(&self.db, &URL_SAFE_NO_PAD.encode(cred_id))
            .await
            .map_err(|e| (None, e.into()))?
            .ok_or((None, PasskeyError::UnknownCredential))?;
        let named = Some(found.user_id);
        let owner = store::user_of_handle(&self.db, &handle.to_string()).await.map_err(|e| (named, e.into()))?;
        if owner != Some(found.user_id) {
            return Err((named, PasskeyError::WrongUser));
        }
        let passkey = for_ceremony(&found).map_err(|e| (named, e.into()))?;
        let result = self
            .passkeys
            .webauthn()
            .map_err(|e| (named, e))?
            .finish_discoverable_authentication_v2(&cred, *state, &passkey)
            .map_err(|e| (named, rejected(e)))?;
        self.check_counter(&found, &result).await.map_err(|e| (named, e))?;
        let user = users::find_by_id(&self.db, found.user_id)
            .await
            .map_err(|e| (named, e.into()))?
            .ok_or((named, PasskeyError::UnknownCredential))?;
        if user.disabled {
            return Err((named, PasskeyError::Disabled));
        }
        Ok((user, found, result))
    }

    /// Spec §7.2 step 21: a non-zero counter must grow. A regression flags the credential,
    /// is recorded and mailed to the owner (committed whatever the outcome), and refuses the
    /// assertion when so configured.
    pub(super) async fn check_counter(
        &self,
        found: &StoredPasskey,
        result: &AuthenticationResult,
    ) -> Result<(), PasskeyError> {
        let counter = i64::from(result.counter());
        if (counter == 0 && found.sign_count == 0) || counter > found.sign_count {
            return Ok(());
        }
        let tx = self.db.begin().await?;
        store::flag_counter(&tx, &found.id).await?;
        let event = Event::new(EventKind::PasskeyCounterRegressed)
            .actor(Actor::Anonymous)
            .user(found.user_id)
            .detail("passkey_id", found.id.as_str())
            .detail("stored", found.sign_count)
            .detail("presented", counter)
            .detail("refused", self.passkeys.refuses_counter_regression());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        if let Some(owner) = users::find_by_id(&tx, found.user_id).await? {
            self.passkey_notice(&tx, &owner, "mail-notice-passkey-counter").await?;
        }
        tx.commit().await?;
        self.outbox.wake();
        tracing::warn!(user_id = %found.user_id, passkey_id = %found.id, counter, stored = found.sign_count, "passkey counter regressed");
        if self.passkeys.refuses_counter_regression() { Err(PasskeyError::CounterRegressed) } else { Ok(()) }
    }

    /// The answer was good: the use is recorded, the device becomes known, and
    /// `sign_in.succeeded` (method `passkey`) is written, in one transaction.
    async fn passkey_signed_in(
        &self,
        user: User,
        found: StoredPasskey,
        result: AuthenticationResult,
        surface: Surface,
        now: i64,
    ) -> Result<PasskeySignedIn, PasskeyError> {
        let used = Use { sign_count: i64::from(result.counter()), backup_state: result.backup_state(), at: now };
        let tx = self.db.begin().await?;
        store::record_use(&tx, &found.id, used).await?;
        let new_device_token = self.remember_device_on(&tx, user.id).await?;
        let event = sign_in_succeeded(user.id, "passkey", surface).detail("passkey_id", found.id.as_str());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "success").increment(1);
        tracing::info!(user_id = %user.id, passkey_id = %found.id, "passkey sign-in");
        let amr = amr_of(result.backup_eligible(), result.user_verified());
        Ok(PasskeySignedIn { user, amr, new_device_token })
    }
}

/// The stored credential as the library takes it, with its counter at zero: the counter
/// rule is ours (see [`Accounts::check_counter`]), so the library must not refuse first.
pub(super) fn for_ceremony(found: &StoredPasskey) -> anyhow::Result<Passkey> {
    let mut value: serde_json::Value = serde_json::from_str(&found.credential)?;
    if let Some(counter) = value.pointer_mut("/cred/counter") {
        *counter = 0.into();
    }
    Ok(serde_json::from_value(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_names_the_key_kind_and_user_verification() {
        assert_eq!(amr_of(false, true), ["hwk", "user", "mfa"]);
        assert_eq!(amr_of(true, true), ["swk", "user", "mfa"]);
        assert_eq!(amr_of(false, false), ["hwk"]);
    }
}
