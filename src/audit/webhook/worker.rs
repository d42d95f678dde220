//! The delivery loop: for each endpoint, claim its due deliveries with a lease, POST each
//! event signed, then mark it delivered (2xx), retry later with exponential backoff (capped),
//! or failed (after `audit.webhook_max_attempts`, when set). After a failure the endpoint
//! rests (in this node's memory, backing off the same way) and the rest of its batch goes back
//! unattempted, so a receiver that is down sees one attempt per backoff step, not a flood.
//! Deliveries survive restarts (they are rows); a node that dies holding a lease leaves it to
//! expire, after which any node sends again: delivery is at least once, receivers drop repeats
//! by event id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::signature::{self, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use super::{Endpoint, EndpointId};
use crate::clock::SharedClock;
use crate::config::AuditSettings;
use crate::store::{Db, audit, audit_deliveries};
use crate::telemetry::metrics::names;

/// Most deliveries one endpoint gets per pass.
pub const BATCH: u64 = 16;

/// The delivery worker of one node.
pub struct Worker {
    db: Db,
    endpoints: Vec<Endpoint>,
    clock: SharedClock,
    settings: AuditSettings,
    wake: Arc<Notify>,
    /// This worker's lease-owner id (random per start).
    owner: String,
    /// Endpoints resting after a failure: consecutive failures, and until when (ms).
    resting: Mutex<HashMap<EndpointId, (i32, i64)>>,
}

/// Milliseconds to wait before attempt `attempts + 1`: base, doubling, capped.
pub fn backoff_ms(attempts: i32, base_secs: i64, max_secs: i64) -> i64 {
    let exponent = (attempts.max(1) - 1).min(30) as u32;
    base_secs.saturating_mul(1i64 << exponent).min(max_secs).saturating_mul(1000)
}

impl Worker {
    pub fn new(
        db: Db,
        endpoints: Vec<Endpoint>,
        clock: SharedClock,
        settings: AuditSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            endpoints,
            clock,
            settings,
            wake,
            owner: uuid::Uuid::new_v4().to_string(),
            resting: Mutex::new(HashMap::new()),
        }
    }

    /// Delivers until `stop` turns true; a POST in flight finishes (or times out) first, and
    /// what is claimed but not yet sent goes back to the queue.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.settings.webhook_poll_interval_ms.max(10));
        while !*stop.borrow() {
            let full = match self.deliver_due(&stop).await {
                Ok(busy) => busy,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "audit webhook queue unavailable");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {},
                () = tokio::time::sleep(poll) => {},
                _ = stop.changed() => {},
            }
        }
        tracing::debug!("audit webhook worker stopped");
    }

    /// One pass over every endpoint; true when some endpoint had a full batch (more may wait).
    pub async fn deliver_due(&self, stop: &watch::Receiver<bool>) -> anyhow::Result<bool> {
        let mut full = false;
        for endpoint in &self.endpoints {
            if *stop.borrow() {
                break;
            }
            full |= self.deliver_endpoint(endpoint, stop).await? as u64 == BATCH;
        }
        Ok(full)
    }

    fn resting_until(&self, endpoint: &EndpointId) -> Option<(i32, i64)> {
        self.resting.lock().unwrap_or_else(|p| p.into_inner()).get(endpoint).copied()
    }

    async fn deliver_endpoint(&self, endpoint: &Endpoint, stop: &watch::Receiver<bool>) -> anyhow::Result<usize> {
        let now_ms = self.clock.now_ms();
        if self.resting_until(&endpoint.id).is_some_and(|(_, until)| until > now_ms) {
            return Ok(0);
        }
        let timeout = Duration::from_secs(self.settings.webhook_timeout_secs);
        // The lease covers the whole batch sent one by one, with room to spare.
        let lease_ms = (BATCH as i64 * self.settings.webhook_timeout_secs as i64 + 30) * 1000;
        let due =
            audit_deliveries::claim_due(&self.db, &endpoint.id, now_ms, now_ms + lease_ms, &self.owner, BATCH).await?;
        let mut remaining = due.iter();
        while let Some(delivery) = remaining.next() {
            if *stop.borrow() {
                audit_deliveries::release(&self.db, &delivery.id, &self.owner).await?;
                continue;
            }
            let outcome = self.attempt(endpoint, delivery, timeout).await;
            let now_ms = self.clock.now_ms();
            match outcome {
                Ok(()) => {
                    self.resting.lock().unwrap_or_else(|p| p.into_inner()).remove(&endpoint.id);
                    if audit_deliveries::mark_delivered(&self.db, &delivery.id, &self.owner, now_ms).await? {
                        metrics::counter!(names::AUDIT_WEBHOOKS_DELIVERED).increment(1);
                        tracing::info!(endpoint = %endpoint.id, event_id = %delivery.event_id, attempts = delivery.attempts, "audit webhook delivered");
                    } else {
                        tracing::warn!(endpoint = %endpoint.id, event_id = %delivery.event_id, "audit webhook delivered after its lease ran out");
                    }
                }
                Err(reason) => {
                    self.failed(endpoint, delivery, &reason, now_ms).await?;
                    for rest in remaining.by_ref() {
                        audit_deliveries::release(&self.db, &rest.id, &self.owner).await?;
                    }
                }
            }
        }
        Ok(due.len())
    }

    /// One POST; `Err` says why it did not count as delivered.
    async fn attempt(
        &self,
        endpoint: &Endpoint,
        delivery: &audit_deliveries::Claimed,
        timeout: Duration,
    ) -> Result<(), String> {
        let event = match audit::get(&self.db, &delivery.event_id).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err("the event is gone".into()),
            Err(e) => return Err(format!("reading the event: {e:#}")),
        };
        let body = serde_json::to_vec(&event).map_err(|e| format!("encoding the event: {e}"))?;
        let timestamp = self.clock.unix();
        let signature = signature::sign(&endpoint.secret, timestamp, &body).map_err(|e| format!("signing: {e:#}"))?;
        let headers = [
            ("content-type", "application/json".to_string()),
            (EVENT_ID_HEADER, event.id.clone()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, signature),
        ];
        match endpoint.client.post(&endpoint.url, &headers, body, timeout).await? {
            200..=299 => Ok(()),
            status => Err(format!("answered {status}")),
        }
    }

    async fn failed(
        &self,
        endpoint: &Endpoint,
        delivery: &audit_deliveries::Claimed,
        reason: &str,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let (base, max) = (self.settings.webhook_retry_base_secs, self.settings.webhook_retry_max_secs);
        let failures = self.resting_until(&endpoint.id).map_or(1, |(n, _)| n + 1);
        self.resting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(endpoint.id.clone(), (failures, now_ms + backoff_ms(failures, base, max)));
        let max_attempts = self.settings.webhook_max_attempts as i32;
        if max_attempts > 0 && delivery.attempts >= max_attempts {
            metrics::counter!(names::AUDIT_WEBHOOK_FAILURES, "kind" => "given_up").increment(1);
            audit_deliveries::mark_failed(&self.db, &delivery.id, &self.owner, reason).await?;
            tracing::error!(endpoint = %endpoint.id, event_id = %delivery.event_id, %reason, attempts = delivery.attempts, "audit webhook given up");
        } else {
            metrics::counter!(names::AUDIT_WEBHOOK_FAILURES, "kind" => "retry").increment(1);
            let wait = backoff_ms(delivery.attempts, base, max);
            audit_deliveries::mark_retry(&self.db, &delivery.id, &self.owner, now_ms + wait, reason).await?;
            tracing::warn!(endpoint = %endpoint.id, event_id = %delivery.event_id, %reason, retry_in_ms = wait, "audit webhook failed; will retry");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        let waits: Vec<i64> = (1..=9).map(|n| backoff_ms(n, 5, 600) / 1000).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(backoff_ms(1000, 5, 600), 600_000);
    }
}
