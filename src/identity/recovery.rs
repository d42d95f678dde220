//! Password reset by e-mail link. The request always answers the same and does the same
//! work (it queues one sealed job; the mail worker decides whether the address has an
//! account); the link's token is single use (a conditional update), expires, has one
//! purpose, and a newer request or a successful reset voids older links. The account is untouched until a valid token is used;
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
use crate::store::mail_jobs::{self, StoredJob};
use crate::store::tokens::{self, Purpose};
use crate::store::users;

/// The `mail_jobs` kind of a reset request (payload: the address as typed).
const RESET_JOB: &str = "password_reset";
/// A job that failed this often (the database kept failing under it) is dropped.
const RESET_JOB_MAX_ATTEMPTS: i32 = 10;

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
    /// Takes a reset request for `email`, within the client's budget. The request path does
    /// the same work whatever the address: one sealed job is queued (with the client's
    /// counter, in one transaction), and the mail worker decides later whether the address
    /// has an account (see [`Accounts::resolve_reset_request`]). The result says nothing
    /// about the address; only the client's own flood is refused.
    #[instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &Email, client_ip: IpAddr) -> Result<(), ResetRequestError> {
        let now = self.clock.unix();
        let ip_budget = format!("reset-{}", throttle::address_key(client_ip));
        if let Some(retry_after_secs) =
            throttle::window_wait(&self.db, &ip_budget, self.account.reset_max_per_ip, 3600, now).await?
        {
            return Err(ResetRequestError::TooManyFromAddress { retry_after_secs });
        }
        let tx = self.db.begin().await?;
        crate::store::throttle::add_window_failure(&tx, &ip_budget, now, 3600).await?;
        self.outbox.queue_job(&tx, RESET_JOB, email.as_str().as_bytes(), now).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// The worker's side of a reset request: for an active account, within the per-address
    /// budget, a new link (older ones void) and its mail, in the transaction that removes
    /// the job; for anything else, the job is dropped and nothing is sent.
    #[instrument(skip_all, fields(job_id = %job.id))]
    pub async fn resolve_reset_request(&self, job: &StoredJob) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let address = match self.outbox.open_job(job).map(|raw| String::from_utf8(raw.to_vec())) {
            Ok(Ok(raw)) => Email::parse(&raw).map_err(anyhow::Error::msg),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(e),
        };
        let email = match address {
            Ok(email) => email,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "unreadable reset request dropped");
                mail_jobs::finish(&self.db, &job.id).await?;
                return Ok(());
            }
        };
        let Some(user) = users::find_by_email(&self.db, &email).await?.filter(|u| !u.disabled) else {
            mail_jobs::finish(&self.db, &job.id).await?;
            return Ok(());
        };
        let address_budget = format!("reset-mail:{}", user.id);
        if !throttle::take_from_window(&self.db, &address_budget, self.account.reset_max_per_address, 3600, now).await?
        {
            tracing::info!(user_id = %user.id, "reset mail budget spent; nothing sent");
            mail_jobs::finish(&self.db, &job.id).await?;
            return Ok(());
        }
        let (token, hash) = new_token();
        let tx = self.db.begin().await?;
        // The deciding write first: a job another node finished already sends nothing more.
        if !mail_jobs::finish(&tx, &job.id).await? {
            return Ok(());
        }
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
            .queue(&tx, &email, Mail::PasswordReset { name: user.name().to_string(), link, minutes }, now)
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

impl crate::mail::worker::Jobs for Accounts {
    async fn run_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.unix();
        let due = mail_jobs::claim_due(&self.db, RESET_JOB, now, 60, crate::mail::worker::BATCH).await?;
        for job in &due {
            if job.attempts > RESET_JOB_MAX_ATTEMPTS {
                tracing::error!(job_id = %job.id, attempts = job.attempts, "reset request given up");
                mail_jobs::finish(&self.db, &job.id).await?;
                continue;
            }
            // A failure leaves the job leased; it is tried again when the lease ends.
            if let Err(e) = self.resolve_reset_request(job).await {
                tracing::warn!(job_id = %job.id, error = %format!("{e:#}"), "reset request failed; will retry");
            }
        }
        Ok(due.len())
    }
}
