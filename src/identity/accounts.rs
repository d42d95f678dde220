//! The account use cases the surfaces call (hosted pages, CLI, later the JSON API), so the
//! rules live in one place. This file: the service itself and registration; signing in is in
//! `login.rs`, profile changes in `profile.rs`, password reset in `recovery.rs`.

use std::net::IpAddr;

use tracing::instrument;

use super::email::Email;
use super::password::{HashError, Password, PasswordHasher, PasswordPolicy, PasswordProblem};
use super::surface::Surface;
use super::throttle::{self, Admission, LoginThrottle};
use super::user::{DisplayName, NewUser, User, UserId, Username};
use crate::audit::{Actor, Event, EventKind};
use crate::clock::SharedClock;
use crate::config::{AccountSettings, LoginSettings};
use crate::mail::{Mail, Outbox};
use crate::secret::{Secret, random_token, token_hash};
use crate::store::tokens::{self, Purpose};
use crate::store::users::{self, LoginName, WriteError};
use crate::store::{Db, Store, audit, throttle as counters};

/// Paths the mails link to; the hosted pages serve them.
pub mod links {
    pub const LOGIN: &str = "/login";
    pub const PROFILE: &str = "/profile";
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
    /// The client address, or everyone together, used up the registrations of the window.
    #[error("too many registrations")]
    TooMany { retry_after_secs: i64 },
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
hash_errors_are_internal!(RegisterError, ChangeError);

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
    /// Per-name login budgets.
    pub(super) throttle: LoginThrottle,
    /// Keys the hashes of recovery codes.
    pub(super) recovery_key: crate::crypto::KeyedHash,
    /// Second-factor codes checked against a secret since start (see `second_factor.rs`).
    pub(super) second_factor_checks: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The passkey relying party and its waiting ceremonies.
    pub(super) passkeys: super::passkeys::RelyingParty,
}

/// A fresh single-use token and the hash that is stored for it.
pub(super) fn new_token() -> (String, String) {
    let token = random_token();
    let hash = token_hash(&token);
    (token, hash)
}

/// The keys the account service derives from `SECRET_KEY`, each for one purpose.
pub struct AccountKeys {
    /// Seals TOTP secrets at rest.
    pub totp: crate::crypto::SecretBox,
    /// Keys the login throttle's counter names.
    pub throttle: crate::crypto::SecretBox,
    /// Keys the hashes of recovery codes.
    pub recovery: crate::crypto::KeyedHash,
}

impl AccountKeys {
    /// Derives every key under its own label (the labels are fixed: changing one loses
    /// what was sealed or hashed under it).
    pub fn derive(secret_key: &crate::secret::Secret) -> anyhow::Result<Self> {
        Ok(Self {
            totp: crate::crypto::SecretBox::derive(secret_key, "totp-secrets")?,
            throttle: crate::crypto::SecretBox::derive(secret_key, "login-throttle")?,
            recovery: crate::crypto::KeyedHash::derive(secret_key, "recovery-codes")?,
        })
    }
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        outbox: Outbox,
        clock: SharedClock,
        settings: &crate::config::Settings,
        keys: AccountKeys,
    ) -> anyhow::Result<Self> {
        let p = &settings.password;
        let a = &settings.account;
        let passkeys = super::passkeys::RelyingParty::new(
            &settings.issuer,
            &a.passkey_rp_id,
            &a.totp_issuer,
            a.passkey_refuse_counter_regression,
        )?;
        Ok(Self {
            throttle: LoginThrottle::new(db.clone(), keys.throttle, settings.login.clone(), clock.clone()),
            db,
            hasher,
            outbox,
            clock,
            policy: PasswordPolicy { min_length: p.min_length, max_bytes: p.max_bytes },
            login: settings.login.clone(),
            account: settings.account.clone(),
            totp_box: keys.totp,
            totp_issuer: settings.account.totp_issuer.clone(),
            recovery_key: keys.recovery,
            second_factor_checks: Default::default(),
            passkeys,
        })
    }

    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// How many password checks (argon2 verifications, dummy ones included) have run.
    pub fn password_checks(&self) -> u64 {
        self.hasher.verifications()
    }

    /// How many new password hashes have been made (registrations, password changes).
    pub fn password_hashes(&self) -> u64 {
        self.hasher.hashes()
    }

    /// The throttle counter key of a login name as typed (normalized like the lookup).
    pub fn login_key(&self, typed: &str) -> anyhow::Result<String> {
        let normalized = match parse_login_name(typed) {
            Some(LoginName::Username(u)) => u.as_str().to_string(),
            Some(LoginName::Email(e)) => e.normalized().to_string(),
            None => typed.trim().to_lowercase(),
        };
        self.throttle.key(&normalized)
    }

    /// The owner proved who they are (password reset): both their names start afresh.
    pub(super) async fn lift_login_delays(&self, user: &User) -> anyhow::Result<()> {
        for name in [&user.username, &user.email] {
            self.throttle.reset(&self.login_key(name)?).await?;
        }
        Ok(())
    }

    pub async fn find(&self, id: UserId) -> anyhow::Result<Option<User>> {
        users::find_by_id(&self.db, id).await
    }

    /// Sets (or clears, with `None`) the person's language.
    pub async fn set_locale(&self, id: UserId, locale: Option<crate::i18n::Lang>) -> anyhow::Result<()> {
        users::set_locale(&self.db, id, locale, self.clock.unix()).await
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
        self.outbox
            .queue_in(s, address, user.locale, Mail::VerifyEmail { name: user.name().to_string(), link, hours }, now)
            .await
    }

    /// A registration from the public (pages, API): the cheap checks first (the form is
    /// parsed already; a taken username costs no hash), then the per-address and global
    /// budgets, then [`Accounts::register`].
    #[instrument(skip_all, fields(username = new.username.as_str()))]
    pub async fn register_from(
        &self,
        new: NewUser,
        password: Password,
        client_ip: IpAddr,
        surface: Surface,
    ) -> Result<Registration, RegisterError> {
        if users::username_taken(&self.db, &new.username).await? {
            return Err(RegisterError::UsernameTaken);
        }
        let (now, a) = (self.clock.unix(), &self.account);
        let per_ip = format!("register-{}", throttle::address_key(client_ip));
        // The address first: a client over its own limit never spends the global budget.
        for (key, max) in [(per_ip.as_str(), a.register_max_per_ip), ("register-all", a.register_max_global)] {
            if let Some(retry_after_secs) =
                throttle::take_or_wait(&self.db, key, max, a.register_window_secs, now).await?
            {
                tracing::info!(budget = key, retry_after_secs, "registration refused: rate limit");
                return Err(RegisterError::TooMany { retry_after_secs });
            }
        }
        self.register(new, password, surface).await
    }

    /// Creates an account and sends the confirmation link, in one transaction. A taken
    /// address creates nothing and notifies its owner instead; the caller cannot tell the
    /// two apart by timing (both hash the password). A taken username is refused before
    /// hashing. No rate limit here: the CLI calls this directly. The `user.created` event
    /// names the new account as its own actor, or the operator for the CLI.
    #[instrument(skip_all, fields(username = new.username.as_str()))]
    pub async fn register(
        &self,
        new: NewUser,
        password: Password,
        surface: Surface,
    ) -> Result<Registration, RegisterError> {
        if users::username_taken(&self.db, &new.username).await? {
            return Err(RegisterError::UsernameTaken);
        }
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
        let actor = if surface == Surface::Cli { Actor::Cli } else { Actor::User(user.id) };
        let event = Event::new(EventKind::UserCreated).actor(actor).user(user.id).detail("surface", surface.as_str());
        audit::append(&tx, self.clock.now_ms(), &event).await?;
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
        self.outbox.queue_in(&self.db, &address, owner.locale, mail, now).await?;
        self.outbox.wake();
        Ok(())
    }

    /// Issues a known-device token for a browser that just proved who it is.
    pub async fn remember_device(&self, user: UserId) -> anyhow::Result<Secret> {
        self.remember_device_on(&self.db, user).await
    }

    /// The same, on `s` (the transaction of a sign-in).
    pub(super) async fn remember_device_on(&self, s: &impl Store, user: UserId) -> anyhow::Result<Secret> {
        let token = random_token();
        counters::add_device(s, &token_hash(&token), user, self.clock.unix()).await?;
        self.new_device_notice(s, user).await?;
        Ok(Secret::new(token))
    }

    /// Re-authentication for sensitive changes, throttled like a login by the username's
    /// budget. (A locked name still answers "wrong current password" here: the caller is
    /// signed in, and a separate answer would need a new error in every surface.)
    pub(super) async fn check_current_password(&self, user: &User, current: &Secret) -> Result<(), ChangeError> {
        let key = self.login_key(&user.username)?;
        let Admission::Admitted(slot) = self.throttle.admit(&key).await? else {
            return Err(ChangeError::WrongCurrentPassword);
        };
        let stored = users::password_hash(&self.db, user.id).await?;
        let Ok(password) = Password::attempt(current.expose(), &self.policy) else {
            slot.failed().await?;
            return Err(ChangeError::WrongCurrentPassword);
        };
        if self.hasher.verify(&password, stored.as_deref()).await? {
            slot.succeeded().await?;
            Ok(())
        } else {
            slot.failed().await?;
            Err(ChangeError::WrongCurrentPassword)
        }
    }

    pub async fn change_display_name(&self, user: &User, name: &DisplayName) -> anyhow::Result<()> {
        users::set_display_name(&self.db, user.id, name, self.clock.unix()).await
    }
}

/// Names containing `@` are e-mail addresses; anything else is a username. Input that is
/// neither matches nobody (and still costs a dummy hash).
pub(super) fn parse_login_name(raw: &str) -> Option<LoginName> {
    if raw.contains('@') {
        Email::parse(raw).ok().map(LoginName::Email)
    } else {
        Username::parse(raw).ok().map(LoginName::Username)
    }
}
