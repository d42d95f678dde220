//! Signing in with a password, as four steps in the order they run: `admit` (whom the attempt
//! names, from which device, and whether it may try now), `check` (the password, with a dummy
//! hash when the name is unknown), then `on_success` or `on_failure` (the throttles'
//! bookkeeping, known devices, metrics). Login hygiene in one place. Each outcome is an audit
//! event (`sign_in_events`): a refusal `sign_in.failed` with its reason class, a sign-in with
//! no second factor due `sign_in.succeeded` (the second step records its own).

use std::net::IpAddr;

use tracing::instrument;

use super::accounts::{Accounts, parse_login_name};
use super::password::{HashError, Password};
use super::profile::ResendError;
use super::sign_in_events::{SignInFailure, sign_in_failed, sign_in_succeeded};
use super::surface::Surface;
use super::throttle::{self, Admission, DEVICE_MAX_FAILURES, Slot};
use super::user::{User, UserId};
use crate::secret::{Secret, token_hash};
use crate::store::{audit, throttle as counters, users};

/// One login attempt as a surface received it.
#[derive(Debug)]
pub struct LoginAttempt {
    /// Username or e-mail address, as typed.
    pub login_name: String,
    pub password: Secret,
    pub client_ip: IpAddr,
    /// The known-device cookie the browser sent, or the `device_token` an API client sent.
    pub device_token: Option<Secret>,
    /// Where it came in (the audit events say).
    pub surface: Surface,
}

#[derive(Debug)]
pub struct LoggedIn {
    pub user: User,
    /// The password was right and the account has 2FA: the sign-in is not complete until
    /// the second factor is proven.
    pub second_factor_required: bool,
    /// A new known-device token to hand to the browser (none when its token is still good,
    /// and none yet while the second factor is due).
    pub new_device_token: Option<Secret>,
    /// The caller presented a device token of this account that is still good.
    pub device_known: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password or disabled account: one answer, given only after a
    /// password check.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Completed failures locked this login name (known or not, alike): no check was made.
    #[error("this login name is temporarily locked")]
    NameLocked { retry_after_secs: i64 },
    /// Too many failures from this client address.
    #[error("too many failed logins from this address")]
    TooManyFromAddress { retry_after_secs: i64 },
    /// Right password, but the configuration requires a confirmed address first (a new
    /// confirmation link has been sent).
    #[error("e-mail address not confirmed")]
    EmailNotVerified,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<HashError> for LoginError {
    fn from(e: HashError) -> Self {
        Self::Internal(e.into())
    }
}

/// An attempt let through to the password check, and what the steps after it need.
struct Admitted {
    /// The hash of the device token the attempt presented.
    device_hash: Option<String>,
    /// That token is a still-good known device of the named account: the throttles are skipped.
    trusted: bool,
    /// The login name's key in the per-name budget.
    key: String,
    /// The place taken in the name's budget (none for a trusted device); dropped unresolved,
    /// when a later step fails before the outcome is known, it is given back.
    slot: Option<Slot>,
    surface: Surface,
}

/// What the password check found.
enum Checked {
    /// The password is the account's own, and the account may sign in.
    Proven(User),
    /// Anything else; the account the name belongs to, if any, for the log.
    Failed(Option<UserId>),
    /// The right password of a disabled account (answered like any failure).
    Disabled(UserId),
}

impl Accounts {
    /// Login hygiene in one place: throttling, a dummy hash for unknown users, one answer
    /// for every kind of failure, and known-device bookkeeping.
    #[instrument(skip_all)]
    pub async fn login(&self, attempt: LoginAttempt) -> Result<LoggedIn, LoginError> {
        let now = self.clock.unix();
        let (found, admitted) = self.admit(&attempt, now).await?;
        match self.check(&attempt.password, found).await? {
            Checked::Proven(user) => self.on_success(user, admitted, now).await,
            Checked::Failed(named) => {
                self.on_failure(named, SignInFailure::BadCredentials, admitted, attempt.client_ip, now).await?;
                Err(LoginError::InvalidCredentials)
            }
            Checked::Disabled(user) => {
                self.on_failure(Some(user), SignInFailure::Disabled, admitted, attempt.client_ip, now).await?;
                Err(LoginError::InvalidCredentials)
            }
        }
    }

    /// Looks up the account the name names (with its password hash) and the device token,
    /// then lets the attempt through or refuses it. Untrusted attempts need the address's leave
    /// and a slot in the name's budget; an attempt from a known device of that account needs
    /// neither.
    async fn admit(&self, attempt: &LoginAttempt, now: i64) -> Result<(Option<(User, String)>, Admitted), LoginError> {
        let found = match parse_login_name(&attempt.login_name) {
            Some(name) => users::find_credentials(&self.db, &name).await?,
            None => None,
        };
        let device_hash = attempt.device_token.as_ref().map(|t| token_hash(t.expose()));
        let device = match &device_hash {
            Some(hash) => counters::find_device(&self.db, hash).await?,
            None => None,
        };
        let trusted = matches!((&found, device), (Some((user, _)), Some(d)) if d.user_id == user.id);
        let key = self.login_key(&attempt.login_name)?;
        let named = found.as_ref().map(|(user, _)| user.id);
        let mut slot = None;
        if !trusted {
            if let Some(retry_after_secs) =
                throttle::address_wait(&self.db, attempt.client_ip, now, &self.login).await?
            {
                metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "throttled").increment(1);
                let refused = sign_in_failed(named, SignInFailure::Throttled, attempt.surface);
                audit::append(&self.db, self.clock.now_ms(), &refused).await?;
                return Err(LoginError::TooManyFromAddress { retry_after_secs });
            }
            match self.throttle.admit(&key).await? {
                Admission::Admitted(admitted) => slot = Some(*admitted),
                Admission::Locked { retry_after_secs } => {
                    let tx = self.db.begin().await?;
                    throttle::address_failed(&tx, attempt.client_ip, now, &self.login).await?;
                    let refused = sign_in_failed(named, SignInFailure::Locked, attempt.surface);
                    audit::append(&tx, self.clock.now_ms(), &refused).await?;
                    tx.commit().await?;
                    metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "locked").increment(1);
                    return Err(LoginError::NameLocked { retry_after_secs });
                }
            }
        }
        Ok((found, Admitted { device_hash, trusted, key, slot, surface: attempt.surface }))
    }

    /// The password check, the same work whatever the outcome: an unknown name, or a password
    /// over the byte limit, costs a dummy check. A disabled account fails here too.
    async fn check(&self, password: &Secret, found: Option<(User, String)>) -> Result<Checked, LoginError> {
        let password = Password::attempt(password.expose(), &self.policy).ok();
        let stored = found.as_ref().map(|(_, hash)| hash.as_str()).filter(|_| password.is_some());
        let candidate = match password {
            Some(pw) => pw,
            None => Password::attempt("", &self.policy).map_err(anyhow::Error::new)?,
        };
        let matched = self.hasher.verify(&candidate, stored).await?;
        if let (true, Some((user, stored))) = (matched, &found)
            && !user.disabled
            && !self.hasher.is_current(stored)
        {
            self.upgrade_hash(user.id, &candidate).await;
        }
        Ok(match found {
            Some((user, _)) if matched && !user.disabled => Checked::Proven(user),
            Some((user, _)) if matched => Checked::Disabled(user.id),
            found => Checked::Failed(found.map(|(user, _)| user.id)),
        })
    }

    /// An imported (or older-cost) hash just matched: store the password as argon2id at the
    /// configured cost. A failure is logged, not fatal: the old hash still works next time.
    async fn upgrade_hash(&self, user: UserId, password: &Password) {
        let upgraded = match self.hasher.hash(password).await {
            Ok(hash) => users::set_password_hash(&self.db, user, &hash, self.clock.unix()).await,
            Err(e) => Err(anyhow::Error::new(e)),
        };
        match upgraded {
            Ok(()) => tracing::info!(user_id = %user, "password hash upgraded to argon2id"),
            Err(e) => tracing::warn!(user_id = %user, error = %e, "password hash upgrade failed"),
        }
    }

    /// The password was right: the name's budget starts afresh; an unconfirmed address (when
    /// confirmation is required) stops here with a fresh link; otherwise the device becomes
    /// known, unless a second factor is still due (its step mints the token then). Without a
    /// second factor the sign-in is complete: its device bookkeeping and `sign_in.succeeded`
    /// are one transaction.
    async fn on_success(&self, user: User, admitted: Admitted, now: i64) -> Result<LoggedIn, LoginError> {
        match admitted.slot {
            Some(slot) => slot.succeeded().await?,
            None => self.throttle.reset(&admitted.key).await?,
        }
        if self.account.require_verified_email && !user.email_verified {
            match self.resend_verification(&user).await {
                Ok(()) | Err(ResendError::TooMany) => {}
                Err(ResendError::Internal(e)) => return Err(LoginError::Internal(e)),
            }
            let refused = sign_in_failed(user.id, SignInFailure::EmailUnverified, admitted.surface);
            audit::append(&self.db, self.clock.now_ms(), &refused).await?;
            return Err(LoginError::EmailNotVerified);
        }
        let second_factor_required = self.mfa_enabled(user.id).await?;
        let tx = self.db.begin().await?;
        let new_device_token = match (admitted.trusted, &admitted.device_hash) {
            (true, Some(hash)) => {
                counters::touch_device(&tx, hash, now).await?;
                None
            }
            _ if second_factor_required => None,
            _ => Some(self.remember_device_on(&tx, user.id).await?),
        };
        if !second_factor_required {
            let signed_in = sign_in_succeeded(user.id, "password", admitted.surface);
            audit::append(&tx, self.clock.now_ms(), &signed_in).await?;
        }
        tx.commit().await?;
        let result = if second_factor_required { "password_ok_2fa_due" } else { "success" };
        metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => result).increment(1);
        tracing::info!(user_id = %user.id, second_factor_required, "password accepted");
        Ok(LoggedIn { user, second_factor_required, new_device_token, device_known: admitted.trusted })
    }

    /// The check failed: the slot becomes a failure of the name, a trusted device counts one
    /// against itself, and the address counts one, in one transaction with `sign_in.failed`.
    async fn on_failure(
        &self,
        named: Option<UserId>,
        reason: SignInFailure,
        admitted: Admitted,
        client_ip: IpAddr,
        now: i64,
    ) -> anyhow::Result<()> {
        if let Some(slot) = admitted.slot {
            slot.failed().await?;
        }
        if let (true, Some(hash)) = (admitted.trusted, &admitted.device_hash) {
            counters::device_failed(&self.db, hash, DEVICE_MAX_FAILURES).await?;
        }
        let tx = self.db.begin().await?;
        throttle::address_failed(&tx, client_ip, now, &self.login).await?;
        audit::append(&tx, self.clock.now_ms(), &sign_in_failed(named, reason, admitted.surface)).await?;
        tx.commit().await?;
        metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "failure").increment(1);
        tracing::info!(user_id = named.map(|id| id.to_string()), "login failed");
        Ok(())
    }
}
