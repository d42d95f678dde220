//! Password reset by e-mail link. The request always answers the same and does the same
//! work (it queues one sealed job; the mail worker decides whether the address has an
//! account); the link's token is single use (a conditional update), expires, has one
//! purpose, and a newer request or a successful reset voids older links. The account is untouched until a valid token is used;
//! then, in one transaction: the new password, every session ended, the notice queued.

use std::net::IpAddr;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use zeroize::Zeroizing;

use super::accounts::{Accounts, links, new_token};
use super::email::Email;
use super::password::{Password, PasswordProblem};
use super::throttle;
use super::user::User;
use crate::audit::{Actor, Event, EventKind, RequestMeta, context};
use crate::mail::Mail;
use crate::secret::token_hash;
use crate::store::mail_jobs::{self, StoredJob};
use crate::store::tokens::{self, Purpose};
use crate::store::{Store, audit, users};

/// The `mail_jobs` kind of a reset request (payload: [`ResetJob`] as JSON; jobs queued before
/// it held the address as typed, and still open).
const RESET_JOB: &str = "password_reset";
/// A job that failed this often (the database kept failing under it) is dropped.
const RESET_JOB_MAX_ATTEMPTS: i32 = 10;

/// What a reset request's job keeps (sealed): the address, and the request it came in, so
/// the `password.reset_requested` event the worker records carries the requester's IP, user
/// agent and request id rather than the worker's nothing.
#[derive(Serialize, Deserialize)]
struct ResetJob {
    email: String,
    ip: Option<IpAddr>,
    user_agent: Option<String>,
    request_id: Option<String>,
    requested_at_ms: i64,
    /// The language of the request (jobs from before languages have none: English).
    #[serde(default)]
    lang: Option<String>,
}

impl ResetJob {
    /// A job's payload; a bare address is a job queued before payloads were JSON.
    fn parse(raw: &[u8]) -> anyhow::Result<Self> {
        if let Ok(job) = serde_json::from_slice(raw) {
            return Ok(job);
        }
        let email = String::from_utf8(raw.to_vec())?;
        Ok(Self { email, ip: None, user_agent: None, request_id: None, requested_at_ms: 0, lang: None })
    }

    fn request(&self) -> RequestMeta {
        RequestMeta { ip: self.ip, user_agent: self.user_agent.clone(), request_id: self.request_id.clone() }
    }
}

/// How the worker decided a reset request (`detail.outcome`).
#[derive(Clone, Copy)]
enum Outcome {
    LinkSent,
    NoAccount,
    AccountDisabled,
    BudgetSpent,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::LinkSent => "link_sent",
            Self::NoAccount => "no_account",
            Self::AccountDisabled => "account_disabled",
            Self::BudgetSpent => "budget_spent",
        }
    }
}

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
        let request = context::current();
        let job = ResetJob {
            email: email.as_str().to_string(),
            ip: request.ip,
            user_agent: request.user_agent,
            request_id: request.request_id,
            requested_at_ms: self.clock.now_ms(),
            lang: Some(crate::i18n::current().tag().to_string()),
        };
        let payload = Zeroizing::new(serde_json::to_vec(&job).context("encoding a reset request")?);
        let tx = self.db.begin().await?;
        crate::store::throttle::add_window_failure(&tx, &ip_budget, now, 3600).await?;
        self.outbox.queue_job(&tx, RESET_JOB, &payload, now).await?;
        tx.commit().await?;
        self.outbox.wake();
        Ok(())
    }

    /// The worker's side of a reset request: for an active account, within the per-address
    /// budget, a new link (older ones void) and its mail, in the transaction that removes
    /// the job; for anything else, the job is dropped and nothing is sent. Either way (an
    /// unreadable job aside) a `password.reset_requested` event says what was decided, with
    /// the request's own IP and user agent; only the API's answer stays the same.
    #[instrument(skip_all, fields(job_id = %job.id))]
    pub async fn resolve_reset_request(&self, job: &StoredJob) -> anyhow::Result<()> {
        let now = self.clock.unix();
        let opened = self.outbox.open_job(job).and_then(|raw| ResetJob::parse(&raw));
        let parsed = opened.and_then(|r| Email::parse(&r.email).map(|email| (r, email)).map_err(anyhow::Error::msg));
        let (request, email) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "unreadable reset request dropped");
                mail_jobs::finish(&self.db, &job.id).await?;
                return Ok(());
            }
        };
        let user = users::find_by_email(&self.db, &email).await?;
        let outcome = match &user {
            None => Outcome::NoAccount,
            Some(user) if user.disabled => Outcome::AccountDisabled,
            Some(user) => {
                let budget = format!("reset-mail:{}", user.id);
                let max = self.account.reset_max_per_address;
                if throttle::take_from_window(&self.db, &budget, max, 3600, now).await? {
                    Outcome::LinkSent
                } else {
                    tracing::info!(user_id = %user.id, "reset mail budget spent; nothing sent");
                    Outcome::BudgetSpent
                }
            }
        };
        let tx = self.db.begin().await?;
        // The deciding write first: a job another node finished already sends nothing more.
        if !mail_jobs::finish(&tx, &job.id).await? {
            return Ok(());
        }
        let mut event = Event::new(EventKind::PasswordResetRequested).detail("outcome", outcome.as_str());
        if request.requested_at_ms > 0 {
            event = event.detail("requested_at_ms", request.requested_at_ms);
        }
        event.request = request.request();
        if let Some(user) = &user {
            event = event.user(user.id);
        }
        audit::append(&tx, self.clock.now_ms(), &event).await?;
        if let (Outcome::LinkSent, Some(user)) = (outcome, &user) {
            let lang = request.lang.as_deref().and_then(crate::i18n::Lang::from_tag);
            self.send_reset_link(&tx, user, &email, lang, now).await?;
        }
        tx.commit().await?;
        if matches!(outcome, Outcome::LinkSent) {
            self.outbox.wake();
            tracing::info!("password reset link sent");
        }
        Ok(())
    }

    /// A new reset link for `user` (older ones void) and its mail, on the worker's transaction.
    /// In the person's language, else `lang` (the requesting page's).
    async fn send_reset_link(
        &self,
        tx: &impl Store,
        user: &User,
        email: &Email,
        lang: Option<crate::i18n::Lang>,
        now: i64,
    ) -> anyhow::Result<()> {
        let (token, hash) = new_token();
        tokens::void_all(tx, user.id, Purpose::ResetPassword, now).await?;
        tokens::insert(
            tx,
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
            .queue_in(
                tx,
                email,
                user.locale.or(lang),
                Mail::PasswordReset { name: user.name().to_string(), link, minutes },
                now,
            )
            .await
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
        let event = Event::new(EventKind::PasswordReset).actor(Actor::User(user.id)).user(user.id);
        audit::append(&tx, self.clock.now_ms(), &event).await?;
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
