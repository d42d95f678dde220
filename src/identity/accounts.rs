//! The account use cases. Every surface (hosted pages, CLI, later the JSON API) calls these,
//! so the rules live in one place: registration, login hygiene, profile changes.

use std::net::IpAddr;

use tower_sessions::session::Id as SessionId;
use tracing::instrument;

use super::email::Email;
use super::password::{Password, PasswordHasher, PasswordPolicy, PasswordProblem};
use super::throttle::{self, Admission, DEVICE_MAX_FAILURES};
use super::user::{DisplayName, NewUser, User, UserId, Username};
use crate::clock::SharedClock;
use crate::config::LoginSettings;
use crate::secret::{Secret, random_token, token_hash};
use crate::store::sessions::SessionRepo;
use crate::store::users::{self, LoginName, WriteError};
use crate::store::{Db, throttle as counters};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("username taken")]
    UsernameTaken,
    #[error("e-mail taken")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("{0}")]
    Policy(PasswordProblem),
    #[error("e-mail taken")]
    EmailTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<super::password::HashError> for RegisterError {
    fn from(e: super::password::HashError) -> Self {
        Self::Internal(e.into())
    }
}
impl From<super::password::HashError> for LoginError {
    fn from(e: super::password::HashError) -> Self {
        Self::Internal(e.into())
    }
}
impl From<super::password::HashError> for ChangeError {
    fn from(e: super::password::HashError) -> Self {
        Self::Internal(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct Accounts {
    db: Db,
    hasher: PasswordHasher,
    sessions: SessionRepo,
    clock: SharedClock,
    policy: PasswordPolicy,
    login: LoginSettings,
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        sessions: SessionRepo,
        clock: SharedClock,
        policy: PasswordPolicy,
        login: LoginSettings,
    ) -> Self {
        Self { db, hasher, sessions, clock, policy, login }
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

    /// Creates an account. The password is hashed first; the row is written in one insert.
    #[instrument(skip_all, fields(username = new.username.as_str()))]
    pub async fn register(&self, new: NewUser, password: Password) -> Result<User, RegisterError> {
        let hash = self.hasher.hash(&password).await?;
        match users::insert(&self.db, &new, &hash, self.clock.unix()).await {
            Ok(user) => {
                tracing::info!(user_id = %user.id, "user registered");
                Ok(user)
            }
            Err(WriteError::UsernameTaken) => Err(RegisterError::UsernameTaken),
            Err(WriteError::EmailTaken) => Err(RegisterError::EmailTaken),
            Err(WriteError::Other(e)) => Err(RegisterError::Internal(e)),
        }
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
                return Err(LoginError::TooManyFromAddress { retry_after_secs });
            }
            let key = throttle::account_key(found.as_ref().map(|(u, _)| u.id.to_string()), &attempt.login_name);
            if throttle::admit_account(&self.db, &key, now, &self.login).await? == Admission::Refused {
                throttle::address_failed(&self.db, attempt.client_ip, now, &self.login).await?;
                return Err(LoginError::InvalidCredentials);
            }
        }

        let password = Password::attempt(attempt.password.expose(), &self.policy).ok();
        let matched = match &password {
            Some(pw) => self.hasher.verify(pw, found.as_ref().map(|(_, hash)| hash.as_str())).await?,
            // Over the byte limit: do the same work as a wrong password, then fail.
            None => {
                let filler = Password::attempt("", &self.policy).map_err(|e| anyhow::anyhow!(e.to_string()))?;
                self.hasher.verify(&filler, None).await?
            }
        };

        match found {
            Some((user, _)) if matched && !user.disabled => {
                throttle::reset_account(&self.db, &user).await?;
                let new_device_token = match (trusted, &device_hash) {
                    (true, Some(hash)) => {
                        counters::touch_device(&self.db, hash, now).await?;
                        None
                    }
                    _ => Some(self.remember_device(user.id).await?),
                };
                tracing::info!(user_id = %user.id, "login succeeded");
                Ok(LoggedIn { user, new_device_token })
            }
            found => {
                if let (true, Some(hash)) = (trusted, &device_hash) {
                    counters::device_failed(&self.db, hash, DEVICE_MAX_FAILURES).await?;
                }
                throttle::address_failed(&self.db, attempt.client_ip, now, &self.login).await?;
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
    async fn check_current_password(&self, user: &User, current: &Secret) -> Result<(), ChangeError> {
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

    /// Changes the password after checking the current one; every other session ends.
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn change_password(
        &self,
        user: &User,
        current: &Secret,
        new: &Secret,
        keep_session: Option<SessionId>,
    ) -> Result<(), ChangeError> {
        let new = Password::new_for(new.expose(), &self.policy, &[&user.username, &user.email])
            .map_err(ChangeError::Policy)?;
        self.check_current_password(user, current).await?;
        let hash = self.hasher.hash(&new).await?;
        users::set_password_hash(&self.db, user.id, &hash, self.clock.unix()).await?;
        let ended = self.sessions.end_all_for_user(user.id, keep_session).await?;
        tracing::info!(other_sessions_ended = ended, "password changed");
        Ok(())
    }

    /// Changes the e-mail address after checking the current password.
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn change_email(&self, user: &User, current: &Secret, email: &Email) -> Result<(), ChangeError> {
        self.check_current_password(user, current).await?;
        match users::set_email(&self.db, user.id, email, self.clock.unix()).await {
            Ok(()) => Ok(()),
            Err(WriteError::EmailTaken) => Err(ChangeError::EmailTaken),
            Err(WriteError::UsernameTaken) => {
                Err(ChangeError::Internal(anyhow::anyhow!("username conflict on e-mail change")))
            }
            Err(WriteError::Other(e)) => Err(ChangeError::Internal(e)),
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
