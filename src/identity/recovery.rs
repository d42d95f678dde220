//! Password reset by e-mail link. The request always answers the same; the link's token is
//! single use (a conditional update), expires, has one purpose, and a newer request or a
//! successful reset voids older links. The account is untouched until a valid token is used;
//! then, in one transaction: the new password, every session ended, the notice queued.

use std::net::IpAddr;

use tracing::instrument;

use super::accounts::{Accounts, links, new_token};
use super::email::Email;
use super::password::{Password, PasswordProblem};
use super::throttle;
use super::user::User;
use crate::mail::Mail;
use crate::secret::token_hash;
use crate::store::tokens::{self, Purpose};
use crate::store::users;

#[derive(Debug, thiserror::Error)]
pub enum ResetRequestError {
    #[error("too many reset requests from this address")]
    TooManyFromAddress { retry_after_secs: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("the link is invalid, used or expired")]
    InvalidLink,
    #[error("{0}")]
    Policy(PasswordProblem),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<super::password::HashError> for ResetError {
    fn from(e: super::password::HashError) -> Self {
        Self::Internal(e.into())
    }
}

impl Accounts {
    /// Sends a reset link if `email` belongs to an active account, within the per-address
    /// budget. The result says nothing about the address; only the client's own flood is
    /// refused.
    #[instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &Email, client_ip: IpAddr) -> Result<(), ResetRequestError> {
        let now = self.clock.unix();
        let ip_budget = format!("reset-{}", throttle::address_key(client_ip));
        if let Some(retry_after_secs) =
            throttle::window_wait(&self.db, &ip_budget, self.account.reset_max_per_ip, 3600, now).await?
        {
            return Err(ResetRequestError::TooManyFromAddress { retry_after_secs });
        }
        crate::store::throttle::add_window_failure(&self.db, &ip_budget, now, 3600).await?;

        let Some(user) = users::find_by_email(&self.db, email).await?.filter(|u| !u.disabled) else {
            return Ok(());
        };
        let address_budget = format!("reset-mail:{}", user.id);
        if !throttle::take_from_window(&self.db, &address_budget, self.account.reset_max_per_address, 3600, now).await?
        {
            tracing::info!(user_id = %user.id, "reset mail budget spent; nothing sent");
            return Ok(());
        }
        let (token, hash) = new_token();
        let tx = self.db.begin().await?;
        tokens::void_all(&tx, user.id, Purpose::ResetPassword, now).await?;
        tokens::insert(
            &tx,
            &hash,
            user.id,
            Purpose::ResetPassword,
            &user.email,
            now,
            now + self.account.reset_token_lifetime_secs,
        )
        .await?;
        let link = self.outbox.link(links::RESET_PASSWORD_CONFIRM, &[("token", &token)]);
        let minutes = self.account.reset_token_lifetime_secs / 60;
        self.outbox
            .queue(&tx, email, Mail::PasswordReset { name: user.name().to_string(), link, minutes }, now)
            .await?;
        tx.commit().await?;
        self.outbox.wake();
        tracing::info!(user_id = %user.id, "password reset link sent");
        Ok(())
    }

    /// The account a reset link leads to, while the link is usable (nothing is used up).
    pub async fn reset_link_user(&self, token: &str) -> Result<User, ResetError> {
        let grant = tokens::peek(&self.db, &token_hash(token), Purpose::ResetPassword, self.clock.unix())
            .await?
            .ok_or(ResetError::InvalidLink)?;
        users::find_by_id(&self.db, grant.user_id).await?.filter(|u| !u.disabled).ok_or(ResetError::InvalidLink)
    }

    /// Sets a new password through a reset link. No automatic sign-in follows.
    #[instrument(skip_all)]
    pub async fn reset_password(&self, token: &str, new: &str) -> Result<(), ResetError> {
        let user = self.reset_link_user(token).await?;
        let password =
            Password::new_for(new, &self.policy, &[&user.username, &user.email]).map_err(ResetError::Policy)?;
        let hash = self.hasher.hash(&password).await?;
        let now = self.clock.unix();
        let tx = self.db.begin().await?;
        // The deciding write comes first: of two parallel submissions exactly one gets it.
        let grant = tokens::consume(&tx, &token_hash(token), Purpose::ResetPassword, now)
            .await?
            .filter(|g| g.user_id == user.id)
            .ok_or(ResetError::InvalidLink)?;
        self.apply_new_password(&tx, &user, &hash, None).await?;
        tx.commit().await?;
        // The owner proved control of the mailbox: the account's login delay is lifted.
        self.lift_login_delays(&user).await?;
        self.outbox.wake();
        tracing::info!(user_id = %grant.user_id, "password reset");
        Ok(())
    }
}
