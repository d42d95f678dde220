//! The delivery loop: claim due messages, send, then mark them sent, retry later with
//! exponential backoff (capped), or failed (a permanent 5xx answer, or too many attempts).
//! Pending mail survives restarts: it is in the database, not in memory.
//!
//! Before each delivery pass the worker runs the due [`Jobs`]: work the request path only
//! queued (sealed), so that what it decides, e.g. whether a reset request's address has an
//! account, costs the request nothing and shows in no response time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Outbox;
use super::transport::{SendError, Transport};
use crate::clock::SharedClock;
use crate::config::MailSettings;
use crate::store::{Db, outbox};

/// Most messages (and jobs) handled per pass.
pub const BATCH: u64 = 16;

/// Work run by the mail worker off the request path; it may queue mail.
pub trait Jobs: Send + Sync + 'static {
    /// Runs one batch of due jobs; returns how many it handled.
    fn run_due(&self) -> impl Future<Output = anyhow::Result<usize>> + Send;
}

pub struct Worker<J> {
    pub db: Db,
    pub transport: Transport,
    pub clock: SharedClock,
    pub settings: MailSettings,
    pub wake: Arc<Notify>,
    /// Opens sealed messages.
    pub outbox: Outbox,
    pub jobs: J,
}

/// Seconds to wait before attempt `attempts + 1`.
pub fn backoff_secs(attempts: i32, base: i64, max: i64) -> i64 {
    let exponent = (attempts.max(1) - 1).min(30) as u32;
    base.saturating_mul(1i64 << exponent).min(max)
}

impl<J: Jobs> Worker<J> {
    pub async fn run(self) {
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            let jobs = match self.jobs.run_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "mail jobs unavailable");
                    0
                }
            };
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "mail outbox unavailable");
                    0
                }
            };
            if delivered as u64 == BATCH || jobs as u64 == BATCH {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {},
                () = tokio::time::sleep(poll) => {},
            }
        }
    }

    /// One pass over the due messages; returns how many it handled.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.unix();
        let lease = self.settings.send_timeout_secs as i64 * 2 + 30;
        let due = outbox::claim_due(&self.db, now, lease, BATCH).await?;
        for mail in &due {
            let outcome = match self.outbox.open(mail) {
                Ok(message) => self.transport.send(&message, &self.settings.default_sender).await,
                Err(e) => Err(SendError::Permanent(format!("{e:#}"))),
            };
            let now = self.clock.unix();
            match outcome {
                Ok(()) => {
                    outbox::mark_sent(&self.db, &mail.id, now).await?;
                    metrics::counter!(crate::telemetry::metrics::names::MAIL_SENT).increment(1);
                    tracing::info!(mail_id = %mail.id, attempts = mail.attempts, "mail delivered");
                }
                Err(SendError::Permanent(reason)) => {
                    metrics::counter!(crate::telemetry::metrics::names::MAIL_FAILURES, "kind" => "permanent")
                        .increment(1);
                    outbox::mark_failed(&self.db, &mail.id, &reason).await?;
                    tracing::error!(mail_id = %mail.id, %reason, "mail refused permanently");
                }
                Err(SendError::Transient(reason)) if mail.attempts >= self.settings.max_attempts as i32 => {
                    outbox::mark_failed(&self.db, &mail.id, &reason).await?;
                    tracing::error!(mail_id = %mail.id, %reason, attempts = mail.attempts, "mail given up");
                }
                Err(SendError::Transient(reason)) => {
                    metrics::counter!(crate::telemetry::metrics::names::MAIL_FAILURES, "kind" => "transient")
                        .increment(1);
                    let wait = backoff_secs(mail.attempts, self.settings.retry_base_secs, self.settings.retry_max_secs);
                    outbox::mark_retry(&self.db, &mail.id, now + wait, &reason).await?;
                    tracing::warn!(mail_id = %mail.id, %reason, retry_in_secs = wait, "mail delivery failed; will retry");
                }
            }
        }
        Ok(due.len())
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let waits: Vec<i64> = (1..=8).map(|n| backoff_secs(n, 30, 3600)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600]);
        assert_eq!(backoff_secs(40, 30, 3600), 3600);
    }
}
