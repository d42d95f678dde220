//! What an administrator may do to other accounts: create, change, disable / enable, delete,
//! verify the address, reset the second factor, send a reset link (ending sessions is
//! `identity::devices`, shared with the person's own profile). Each
//! action takes the acting [`Actor`] and writes its audit event in the transaction of the
//! change, so the event exists exactly when the change does; a refused action writes none.
//! Disabling a user ends their sessions and revokes every grant at once. An administrator
//! cannot disable, demote or delete their own account (no one locks the last door by hand).

use tracing::instrument;

use super::accounts::{Accounts, links, new_token};
use super::email::Email;
use super::password::Password;
// `AdminChanges` is a plain value type, defined with the user record so that the store, which
// writes it, need not import this service module (which imports the store).
pub use super::user::AdminChanges;
use super::user::{DisplayName, NewUser, User, UserId, Username};
use crate::audit::{Actor, Event, EventKind};
use crate::mail::Mail;
use crate::secret::random_token;
use crate::store::tokens::{self, Purpose};
use crate::store::users::{self, WriteError};
use crate::store::{Store, audit, counts, grants, mfa, second_factor, sessions};

pub const MAX_PAGE: u64 = 100;

/// The console's dashboard figures about people.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Overview {
    pub users: i64,
    /// Signed-in browser sessions that have not ended.
    pub active_sessions: i64,
    /// `sign_in.succeeded` events in the last 24 hours.
    pub sign_ins_24h: i64,
    /// `sign_in.failed` events in the last 24 hours.
    pub sign_in_failures_24h: i64,
    /// Mails waiting in the outbox.
    pub outbox_backlog: i64,
}

/// An account an administrator creates: it gets no password anyone knows; a link to set one
/// goes to the address.
#[derive(Debug, Clone)]
pub struct AdminNewUser {
    pub username: Username,
    pub email: Email,
    pub display_name: DisplayName,
    pub is_admin: bool,
    pub email_verified: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such user")]
    NotFound,
    #[error("the e-mail address belongs to another account")]
    EmailTaken,
    #[error("the username is taken")]
    UsernameTaken,
    /// Disabling, demoting or deleting one's own account.
    #[error("administrators cannot disable, demote or delete their own account")]
    OwnAccount,
    /// A reset link for a disabled account.
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AdminError {
    /// For a caller with no answer of its own for this refusal: an internal error as it
    /// came (its whole chain, for the log), any other refusal as an error of its own.
    pub fn into_internal(self) -> anyhow::Error {
        match self {
            Self::Internal(e) => e,
            other => anyhow::Error::new(other),
        }
    }
}

impl From<WriteError> for AdminError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::EmailTaken => Self::EmailTaken,
            WriteError::UsernameTaken => Self::UsernameTaken,
            WriteError::Other(e) => Self::Internal(e),
        }
    }
}

fn is_self(actor: &Actor, id: UserId) -> bool {
    matches!(actor, Actor::Admin(me) if *me == id)
}

impl Accounts {
    pub async fn search_users(&self, q: Option<&str>, limit: u64, offset: u64) -> anyhow::Result<Vec<User>> {
        users::search(&self.db, q, limit.clamp(1, MAX_PAGE), offset).await
    }

    /// The figures on the console's dashboard, `now_ms` being the clock's time.
    pub async fn overview(&self) -> anyhow::Result<Overview> {
        let now = self.clock.unix();
        let day_ago_ms = self.clock.now_ms() - 86_400_000;
        Ok(Overview {
            users: counts::users(&self.db).await?,
            active_sessions: counts::active_sessions(&self.db, now).await?,
            sign_ins_24h: counts::events_since(&self.db, EventKind::SignInSucceeded, day_ago_ms).await?,
            sign_in_failures_24h: counts::events_since(&self.db, EventKind::SignInFailed, day_ago_ms).await?,
            outbox_backlog: crate::store::outbox::pending_count(&self.db).await?,
        })
    }

    async fn record(&self, s: &impl Store, event: Event) -> anyhow::Result<()> {
        audit::append(s, self.clock.now_ms(), &event).await.map(|_| ())
    }

    /// Creates an account with an unusable random password and mails a link to set one
    /// (and, unless marked verified, a confirmation link), all in one transaction.
    #[instrument(skip_all, fields(username = new.username.as_str()))]
    pub async fn admin_create_user(&self, actor: &Actor, new: AdminNewUser) -> Result<User, AdminError> {
        let unusable = Password::attempt(&random_token(), &self.policy).map_err(|p| anyhow::anyhow!("{p}"))?;
        let hash = self.hasher.hash(&unusable).await.map_err(anyhow::Error::from)?;
        let record = NewUser {
            username: new.username,
            email: new.email.clone(),
            display_name: new.display_name,
            is_admin: new.is_admin,
            email_verified: new.email_verified,
        };
        let tx = self.db.begin().await?;
        let user = users::insert(&tx, &record, &hash, self.clock.unix()).await?;
        if !user.email_verified {
            self.queue_verification(&tx, &user, &new.email, Purpose::VerifyEmail).await?;
        }
        self.queue_reset_link(&tx, &user, &new.email).await?;
        let event = Event::new(EventKind::UserCreated)
            .actor(actor.clone())
            .user(user.id)
            .detail("by", "admin")
            .detail("is_admin", user.is_admin);
        self.record(&tx, event).await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, "user created by an administrator");
        Ok(user)
    }

    /// Applies `changes`: `user.updated` names the fields that changed (name, e-mail, admin
    /// flag), `user.disabled` / `user.enabled` the account's state. Disabling ends every
    /// session and revokes every grant in the same transaction.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn admin_update(&self, actor: &Actor, id: UserId, changes: AdminChanges) -> Result<User, AdminError> {
        let now = self.clock.unix();
        let old = users::find_by_id(&self.db, id).await?.ok_or(AdminError::NotFound)?;
        let disabling = changes.disabled == Some(true) && !old.disabled;
        if is_self(actor, id) && (disabling || (changes.is_admin == Some(false) && old.is_admin)) {
            return Err(AdminError::OwnAccount);
        }
        let mut changed = Vec::new();
        if changes.display_name.as_ref().is_some_and(|n| n.as_str() != old.display_name) {
            changed.push("display_name");
        }
        if changes.email.as_ref().is_some_and(|e| e.normalized() != old.email.to_lowercase() || e.as_str() != old.email)
        {
            changed.push("email");
        }
        if changes.is_admin.is_some_and(|a| a != old.is_admin) {
            changed.push("is_admin");
        }
        let enabling = changes.disabled == Some(false) && old.disabled;
        let tx = self.db.begin().await?;
        users::admin_update(&tx, id, &changes, now).await?;
        if !changed.is_empty() {
            let event = Event::new(EventKind::UserUpdated).actor(actor.clone()).user(id).detail("changed", changed);
            self.record(&tx, event).await?;
        }
        if disabling {
            let ended = sessions::end_all_for_user(&tx, id, None).await?;
            let revoked = grants::revoke_all_for_user(&tx, id, now).await?;
            let event = Event::new(EventKind::UserDisabled)
                .actor(actor.clone())
                .user(id)
                .detail("sessions_ended", ended)
                .detail("grants_revoked", revoked);
            self.record(&tx, event).await?;
        }
        if enabling {
            self.record(&tx, Event::new(EventKind::UserEnabled).actor(actor.clone()).user(id)).await?;
        }
        let user = users::find_by_id(&tx, id).await?.ok_or(AdminError::NotFound)?;
        tx.commit().await?;
        tracing::info!(disabled = user.disabled, is_admin = user.is_admin, "user updated by an administrator");
        Ok(user)
    }

    /// Deletes the account and everything that hangs off it (sessions, grants, tokens).
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<(), AdminError> {
        if is_self(actor, id) {
            return Err(AdminError::OwnAccount);
        }
        let tx = self.db.begin().await?;
        let user = users::find_by_id(&tx, id).await?.ok_or(AdminError::NotFound)?;
        if !users::delete(&tx, id).await? {
            return Err(AdminError::NotFound);
        }
        let event = Event::new(EventKind::UserDeleted).actor(actor.clone()).user(id).detail("username", user.username);
        self.record(&tx, event).await?;
        tx.commit().await?;
        tracing::info!("user deleted");
        Ok(())
    }

    /// Marks the current address verified; false (and no event) when it already was.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn admin_verify_email(&self, actor: &Actor, id: UserId) -> Result<bool, AdminError> {
        let tx = self.db.begin().await?;
        let user = users::find_by_id(&tx, id).await?.ok_or(AdminError::NotFound)?;
        if user.email_verified {
            return Ok(false);
        }
        if !users::mark_email_verified(&tx, id, &user.email, self.clock.unix()).await? {
            return Err(AdminError::NotFound);
        }
        let event = Event::new(EventKind::EmailVerified).actor(actor.clone()).user(id).detail("by", "admin");
        self.record(&tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes the account's TOTP secret, recovery codes and open second-factor steps, and
    /// tells the owner; false (and no event) when it had no second factor.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn reset_second_factor(&self, actor: &Actor, id: UserId) -> Result<bool, AdminError> {
        let user = users::find_by_id(&self.db, id).await?.ok_or(AdminError::NotFound)?;
        if !self.mfa_enabled(id).await? {
            return Ok(false);
        }
        let now = self.clock.unix();
        let tx = self.db.begin().await?;
        mfa::disable(&tx, id, now).await?;
        second_factor::void_challenges(&tx, id).await?;
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let what = "mail-notice-admin-2fa-off";
        let mail = Mail::SecurityNotice { name: user.name().to_string(), what: what.to_string() };
        self.outbox.queue_in(&tx, &address, user.locale, mail, now).await?;
        self.record(&tx, Event::new(EventKind::SecondFactorReset).actor(actor.clone()).user(id)).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(true)
    }

    /// Mails the account a fresh password-reset link (older links void). The account itself
    /// is untouched until the link is used.
    #[instrument(skip_all, fields(user_id = %id))]
    pub async fn admin_send_password_reset(&self, actor: &Actor, id: UserId) -> Result<(), AdminError> {
        let user = users::find_by_id(&self.db, id).await?.ok_or(AdminError::NotFound)?;
        if user.disabled {
            return Err(AdminError::Disabled);
        }
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let tx = self.db.begin().await?;
        self.queue_reset_link(&tx, &user, &address).await?;
        let event = Event::new(EventKind::PasswordResetRequested).actor(actor.clone()).user(id).detail("by", "admin");
        self.record(&tx, event).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// A new reset link for `user` (older ones void) and its mail, on `s`.
    async fn queue_reset_link(&self, s: &impl Store, user: &User, address: &Email) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let (token, hash) = new_token();
        let lifetime = self.account.reset_token_lifetime_secs;
        tokens::void_all(s, user.id, Purpose::ResetPassword, now).await?;
        tokens::insert(s, &hash, user.id, Purpose::ResetPassword, &user.email, now, now + lifetime).await?;
        let link = self.outbox.link(links::RESET_PASSWORD_CONFIRM, &[("token", &token)]);
        let mail = Mail::PasswordReset { name: user.name().to_string(), link, minutes: lifetime / 60 };
        self.outbox.queue_in(s, address, user.locale, mail, now).await
    }
}
