//! Changes a signed-in user makes to their own account: password, e-mail address (confirmed
//! by a link to the new address before it takes effect), and confirming an address.

use tracing::instrument;

use super::accounts::{Accounts, ChangeError, links};
use super::email::Email;
use super::password::Password;
use super::session::SessionId;
use super::throttle;
use super::user::User;
use crate::audit::{Actor, Event, EventKind};
use crate::mail::Mail;
use crate::secret::{Secret, token_hash};
use crate::store::tokens::{self, Purpose};
use crate::store::users::{self, WriteError};
use crate::store::{Store, audit, sessions};

/// Links re-sent to one user per hour at most.
const RESENDS_PER_HOUR: u32 = 3;

/// What following a confirmation link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The address the account already had is now verified.
    Address,
    /// The account moved to the new address (the old one was told).
    NewAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("the link is invalid, used or expired")]
    InvalidLink,
    #[error("the address now belongs to another account")]
    AddressInUse,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("several links were sent recently")]
    TooMany,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Accounts {
    /// Changes the password after checking the current one. In one transaction: the new
    /// hash, every other session ended, a notice to the account's address.
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
        let tx = self.db.begin().await?;
        self.apply_new_password(&tx, user, &hash, keep_session).await?;
        let event = Event::new(EventKind::PasswordChanged).actor(Actor::User(user.id)).user(user.id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!("password changed");
        Ok(())
    }

    /// The parts of a password change shared by the profile and the reset link.
    pub(super) async fn apply_new_password(
        &self,
        s: &impl Store,
        user: &User,
        hash: &str,
        keep_session: Option<SessionId>,
    ) -> anyhow::Result<()> {
        let now = self.clock.unix();
        users::set_password_hash(s, user.id, hash, now).await?;
        tokens::void_all(s, user.id, Purpose::ResetPassword, now).await?;
        sessions::end_all_for_user(s, user.id, keep_session).await?;
        // A sign-in half done with the old password cannot be finished with the second factor.
        crate::store::second_factor::void_challenges(s, user.id).await?;
        // Every refresh token (and access token checked online) of the user ends too.
        crate::store::grants::revoke_all_for_user(s, user.id, now).await?;
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let reset_link = self.outbox.link(links::RESET_PASSWORD, &[]);
        self.outbox
            .queue_in(
                s,
                &address,
                user.locale,
                Mail::PasswordChanged { name: user.name().to_string(), reset_link },
                now,
            )
            .await
    }

    /// Starts an e-mail change after checking the current password: a link goes to the new
    /// address, and nothing changes until it is followed. An address that belongs to
    /// another account gets no mail, and the answer is the same.
    #[instrument(skip_all, fields(user_id = %user.id))]
    pub async fn request_email_change(&self, user: &User, current: &Secret, email: &Email) -> Result<(), ChangeError> {
        self.check_current_password(user, current).await?;
        if users::find_by_email(&self.db, email).await?.is_some() {
            tracing::info!("e-mail change to an address in use: no link sent");
            return Ok(());
        }
        let tx = self.db.begin().await?;
        self.queue_verification(&tx, user, email, Purpose::ChangeEmail).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// The address a pending e-mail change waits to confirm.
    pub async fn pending_email_change(&self, user: &User) -> anyhow::Result<Option<String>> {
        tokens::pending_email_change(&self.db, user.id, self.clock.unix()).await
    }

    /// Follows a confirmation link: verifies the current address, or completes a change.
    #[instrument(skip_all)]
    pub async fn confirm_email(&self, token: &str) -> Result<Confirmed, ConfirmError> {
        let now = self.clock.unix();
        let hash = token_hash(token);
        let tx = self.db.begin().await?;
        if let Some(grant) = tokens::consume(&tx, &hash, Purpose::VerifyEmail, now).await? {
            if !users::mark_email_verified(&tx, grant.user_id, &grant.email, now).await? {
                return Err(ConfirmError::InvalidLink);
            }
            let event = Event::new(EventKind::EmailVerified).actor(Actor::User(grant.user_id)).user(grant.user_id);
            audit::append(&tx, self.clock.now_ms(), &event).await?;
            tx.commit().await?;
            tracing::info!(user_id = %grant.user_id, "e-mail address confirmed");
            return Ok(Confirmed::Address);
        }
        let Some(grant) = tokens::consume(&tx, &hash, Purpose::ChangeEmail, now).await? else {
            return Err(ConfirmError::InvalidLink);
        };
        let user = users::find_by_id(&tx, grant.user_id).await?.ok_or(ConfirmError::InvalidLink)?;
        let new = Email::parse(&grant.email).map_err(|_| ConfirmError::InvalidLink)?;
        // Recorded before the move: an address taken meanwhile fails the move below and rolls
        // the event back with the rest (the link stays unused).
        let event = Event::new(EventKind::EmailChanged).actor(Actor::User(user.id)).user(user.id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        match users::set_email(&tx, user.id, &new, true, now).await {
            Ok(()) => {}
            Err(WriteError::EmailTaken) => return Err(ConfirmError::AddressInUse),
            Err(WriteError::UsernameTaken) => return Err(ConfirmError::InvalidLink),
            Err(WriteError::Other(e)) => return Err(ConfirmError::Internal(e)),
        }
        if let Ok(old) = Email::parse(&user.email) {
            let notice = Mail::EmailChanged { name: user.name().to_string(), new_address: new.as_str().to_string() };
            self.outbox.queue_in(&tx, &old, user.locale, notice, now).await?;
        }
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, "e-mail address changed");
        Ok(Confirmed::NewAddress)
    }

    /// Sends a new confirmation link for the account's address (older links stop working).
    pub async fn resend_verification(&self, user: &User) -> Result<(), ResendError> {
        let now = self.clock.unix();
        let budget = format!("verify:{}", user.id);
        if !throttle::take_from_window(&self.db, &budget, RESENDS_PER_HOUR, 3600, now).await? {
            return Err(ResendError::TooMany);
        }
        let address = Email::parse(&user.email).map_err(|m| anyhow::anyhow!("stored address unparseable: {m}"))?;
        let tx = self.db.begin().await?;
        self.queue_verification(&tx, user, &address, Purpose::VerifyEmail).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }
}
