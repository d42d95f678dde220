//! The account use cases the surfaces call (hosted pages, CLI, later the JSON API), so the
//! rules live in one place. This file: the service itself, registration and login; profile
//! changes are in `profile.rs`, password reset in `recovery.rs`.

use std::net::IpAddr;

use tracing::instrument;

use super::email::Email;
use super::password::{HashError, Password, PasswordHasher, PasswordPolicy, PasswordProblem};
use super::throttle::{self, Admission, DEVICE_MAX_FAILURES};
use super::user::{DisplayName, NewUser, User, UserId, Username};
use crate::clock::SharedClock;
use crate::config::{AccountSettings, LoginSettings};
use crate::mail::{Mail, Outbox};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::tokens::{self, Purpose};
use crate::store::users::{self, LoginName, WriteError};
use crate::store::{Db, Store, throttle as counters};

/// Paths the mails link to; the hosted pages serve them.
pub mod links {
    pub const LOGIN: &str = "/login";
    pub const VERIFY_EMAIL: &str = "/verify-email";
    pub const RESET_PASSWORD: &str = "/reset-password";
    pub const RESET_PASSWORD_CONFIRM: &str = "/reset-password/confirm";
}

/// Notices to one address per hour at most (registration attempts with a taken address,
/// re-sent confirmation links).
const NOTICES_PER_HOUR: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("username taken")]
    UsernameTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a registration did. Surfaces facing the public answer both alike.
#[derive(Debug)]
pub enum Registration {
    /// A new account; a confirmation link went out unless the address was pre-verified.
    Created(User),
    /// The address already had an account: nothing was created, its owner was told.
    EmailInUse,
}

/// One login attempt as a surface received it.
#[derive(Debug)]
pub struct LoginAttempt {
    /// Username or e-mail address, as typed.
    pub login_name: String,
    pub password: Secret,
    pub client_ip: IpAddr,
    /// The known-device cookie, if the browser sent one.
    pub device_token: Option<Secret>,
}

#[derive(Debug)]
pub struct LoggedIn {
    pub user: User,
    /// The password was right and the account has 2FA: the sign-in is not complete until
    /// the second factor is proven.
    pub second_factor_required: bool,
    /// A new known-device token to hand to the browser (none when its token is still good).
    pub new_device_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password, disabled account or a throttled account: one answer.
    #[error("invalid credentials")]
    InvalidCredentials,
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

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("{0}")]
    Policy(PasswordProblem),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

macro_rules! hash_errors_are_internal {
    ($($t:ty),*) => {$(
        impl From<HashError> for $t {
            fn from(e: HashError) -> Self {
                Self::Internal(e.into())
            }
        }
    )*};
}
hash_errors_are_internal!(RegisterError, LoginError, ChangeError);

#[derive(Debug, Clone)]
pub struct Accounts {
    pub(super) db: Db,
    pub(super) hasher: PasswordHasher,
    pub(super) outbox: Outbox,
    pub(super) clock: SharedClock,
    pub(super) policy: PasswordPolicy,
    pub(super) login: LoginSettings,
    pub(super) account: AccountSettings,
    /// Seals TOTP secrets at rest.
    pub(super) totp_box: crate::crypto::SecretBox,
    /// The issuer name authenticator apps show.
    pub(super) totp_issuer: String,
    /// Keys the hashes of recovery codes.
    pub(super) recovery_key: crate::crypto::KeyedHash,
    /// Second-factor codes checked against a secret since start (see `second_factor.rs`).
    pub(super) second_factor_checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A fresh single-use token and the hash that is stored for it.
pub(super) fn new_token() -> (String, String) {
    let token = random_token();
    let hash = token_hash(&token);
    (token, hash)
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        outbox: Outbox,
        clock: SharedClock,
        settings: &crate::config::Settings,
        totp_box: crate::crypto::SecretBox,
        recovery_key: crate::crypto::KeyedHash,
    ) -> Self {
        let p = &settings.password;
        Self {
            db,
            hasher,
            outbox,
            clock,
            policy: PasswordPolicy { min_length: p.min_length, max_bytes: p.max_bytes },
            login: settings.login.clone(),
            account: settings.account.clone(),
            totp_box,
            totp_issuer: settings.account.totp_issuer.clone(),
            recovery_key,
            second_factor_checks: Default::default(),
        }
    }

    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    pub async fn find(&self, id: UserId) -> anyhow::Result<Option<User>> {
        users::find_by_id(&self.db, id).await
    }

    pub async fn list(&self) -> anyhow::Result<Vec<User>> {
        users::list(&self.db).await
    }

    /// Queues a confirmation link for `address` on `s` (part of the caller's transaction).
    pub(super) async fn queue_verification(
        &self,
        s: &impl Store,
        user: &User,
        address: &Email,
        purpose: Purpose,
    ) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let (token, hash) = new_token();
        tokens::void_all(s, user.id, purpose, now).await?;
        tokens::insert(
            s,
            &hash,
            user.id,
            purpose,
            address.as_str(),
            now,
            now + self.account.verify_token_lifetime_secs,
        )
        .await?;
        let link = self.outbox.link(links::VERIFY_EMAIL, &[("token", &token)]);
        let hours = self.account.verify_token_lifetime_secs / 3600;
        self.outbox.queue(s, address, Mail::VerifyEmail { name: user.name().to_string(), link, hours }, now).await
    }

    /// Creates an account and sends the confirmation link, in one transaction. A taken
    /// address creates nothing and notifies its owner instead; the caller cannot tell the
    /// two apart by timing (both hash the password).
    #[instrument(skip_all, fields(username = new.username.as_str()))]
    pub async fn register(&self, new: NewUser, password: Password) -> Result<Registration, RegisterError> {
        let hash = self.hasher.hash(&password).await?;
        let now = self.clock.unix();
        let tx = self.db.begin().await?;
        let user = match users::insert(&tx, &new, &hash, now).await {
            Ok(user) => user,
            Err(WriteError::UsernameTaken) => return Err(RegisterError::UsernameTaken),
            Err(WriteError::EmailTaken) => {
                drop(tx);
                self.notify_existing_owner(&new.email).await?;
                return Ok(Registration::EmailInUse);
            }
            Err(WriteError::Other(e)) => return Err(RegisterError::Internal(e)),
        };
        if !user.email_verified {
            self.queue_verification(&tx, &user, &new.email, Purpose::VerifyEmail).await?;
        }
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, "user registered");
        Ok(Registration::Created(user))
    }

    async fn notify_existing_owner(&self, email: &Email) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let Some(owner) = users::find_by_email(&self.db, email).await? else { return Ok(()) };
        let budget = format!("notice:{}", owner.id);
        if !throttle::take_from_window(&self.db, &budget, NOTICES_PER_HOUR, 3600, now).await? {
            return Ok(());
        }
        let mail = Mail::AccountExists {
            name: owner.name().to_string(),
            login_link: self.outbox.link(links::LOGIN, &[]),
            reset_link: self.outbox.link(links::RESET_PASSWORD, &[]),
        };
        let address = Email::parse(&owner.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        self.outbox.queue(&self.db, &address, mail, now).await?;
        self.outbox.wake();
        Ok(())
    }

    /// Login hygiene in one place: throttling, a dummy hash for unknown users, one answer
    /// for every kind of failure, and known-device bookkeeping.
    #[instrument(skip_all)]
    pub async fn login(&self, attempt: LoginAttempt) -> Result<LoggedIn, LoginError> {
        let now = self.clock.unix();
        let name = parse_login_name(&attempt.login_name);
        let found = match &name {
            Some(name) => users::find_credentials(&self.db, name).await?,
            None => None,
        };
        let device_hash = attempt.device_token.as_ref().map(|t| token_hash(t.expose()));
        let device = match &device_hash {
            Some(hash) => counters::find_device(&self.db, hash).await?,
            None => None,
        };
        let trusted = matches!((&found, device), (Some((user, _)), Some(d)) if d.user_id == user.id);

        if !trusted {
            if let Some(retry_after_secs) =
                throttle::address_wait(&self.db, attempt.client_ip, now, &self.login).await?
            {
                metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "throttled").increment(1);
                return Err(LoginError::TooManyFromAddress { retry_after_secs });
            }
            let key = throttle::account_key(found.as_ref().map(|(u, _)| u.id.to_string()), &attempt.login_name);
            if throttle::admit_account(&self.db, &key, now, &self.login).await? == Admission::Refused {
                throttle::address_failed(&self.db, attempt.client_ip, now, &self.login).await?;
                return Err(LoginError::InvalidCredentials);
            }
        }

        // Over the byte limit: the same work as a wrong password (a dummy check), then fail.
        let password = Password::attempt(attempt.password.expose(), &self.policy).ok();
        let stored = found.as_ref().map(|(_, hash)| hash.as_str()).filter(|_| password.is_some());
        let candidate = match password {
            Some(pw) => pw,
            None => Password::attempt("", &self.policy).map_err(|e| anyhow::anyhow!(e.to_string()))?,
        };
        let matched = self.hasher.verify(&candidate, stored).await?;

        match found {
            Some((user, _)) if matched && !user.disabled => {
                throttle::reset_account(&self.db, &user).await?;
                if self.account.require_verified_email && !user.email_verified {
                    match self.resend_verification(&user).await {
                        Ok(()) | Err(super::profile::ResendError::TooMany) => {}
                        Err(super::profile::ResendError::Internal(e)) => return Err(LoginError::Internal(e)),
                    }
                    return Err(LoginError::EmailNotVerified);
                }
                let new_device_token = match (trusted, &device_hash) {
                    (true, Some(hash)) => {
                        counters::touch_device(&self.db, hash, now).await?;
                        None
                    }
                    _ => Some(self.remember_device(user.id).await?),
                };
                let second_factor_required = self.mfa_enabled(user.id).await?;
                let result = if second_factor_required { "password_ok_2fa_due" } else { "success" };
                metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => result).increment(1);
                tracing::info!(user_id = %user.id, second_factor_required, "password accepted");
                Ok(LoggedIn { user, second_factor_required, new_device_token })
            }
            found => {
                if let (true, Some(hash)) = (trusted, &device_hash) {
                    counters::device_failed(&self.db, hash, DEVICE_MAX_FAILURES).await?;
                }
                throttle::address_failed(&self.db, attempt.client_ip, now, &self.login).await?;
                metrics::counter!(crate::telemetry::metrics::names::LOGINS, "result" => "failure").increment(1);
                tracing::info!(user_id = found.map(|(u, _)| u.id.to_string()), "login failed");
                Err(LoginError::InvalidCredentials)
            }
        }
    }

    /// Issues a known-device token for a browser that just proved who it is.
    pub async fn remember_device(&self, user: UserId) -> anyhow::Result<Secret> {
        let token = random_token();
        counters::add_device(&self.db, &token_hash(&token), user, self.clock.unix()).await?;
        Ok(Secret::new(token))
    }

    /// Re-authentication for sensitive changes, throttled like a login.
    pub(super) async fn check_current_password(&self, user: &User, current: &Secret) -> Result<(), ChangeError> {
        let key = throttle::account_key(Some(user.id.to_string()), &user.username);
        if throttle::admit_account(&self.db, &key, self.clock.unix(), &self.login).await? == Admission::Refused {
            return Err(ChangeError::WrongCurrentPassword);
        }
        let stored = users::password_hash(&self.db, user.id).await?;
        let password =
            Password::attempt(current.expose(), &self.policy).map_err(|_| ChangeError::WrongCurrentPassword)?;
        if self.hasher.verify(&password, stored.as_deref()).await? {
            throttle::reset_account(&self.db, user).await?;
            Ok(())
        } else {
            Err(ChangeError::WrongCurrentPassword)
        }
    }

    pub async fn change_display_name(&self, user: &User, name: &DisplayName) -> anyhow::Result<()> {
        users::set_display_name(&self.db, user.id, name, self.clock.unix()).await
    }
}

/// Names containing `@` are e-mail addresses; anything else is a username. Input that is
/// neither matches nobody (and still costs a dummy hash).
fn parse_login_name(raw: &str) -> Option<LoginName> {
    if raw.contains('@') {
        Email::parse(raw).ok().map(LoginName::Email)
    } else {
        Username::parse(raw).ok().map(LoginName::Username)
    }
}
