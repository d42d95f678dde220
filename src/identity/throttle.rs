//! Login throttling that slows guessing without handing attackers a lockout button.
//!
//! * **Per login name**: the counter key is a keyed hash (HMAC under `SECRET_KEY`) of the
//!   name as typed, normalized the way the lookup normalizes it. A username and an e-mail
//!   address get separate counters whether or not they belong to one account, exactly like
//!   two unknown names, so throttling reveals neither which names exist nor which address
//!   belongs to which username.
//! * **Budget**: the first `free_failures` wrong passwords cost nothing; after that each
//!   failure doubles the wait before the next check (1 s, 2 s, 4 s, …), capped at
//!   `max_wait_secs`. Failures older than `failure_decay_secs` stop counting. The
//!   `MAX_CONSECUTIVE_FAILURES`-th failure locks the name until its failures decay.
//! * **Only completed failures count**: a check is admitted by reserving an in-flight slot
//!   in one conditional statement, which holds only while completed failures plus unresolved
//!   checks stay within the budget (the free failures, or one check once they are spent). A
//!   success gives the slot back and resets the counter; a failure turns it into a failure.
//!   So parallel guesses get no more checks than sequential ones, on any number of nodes.
//! * **The answers**: 401 "not correct" only after a password check said so. When the budget
//!   is full of unresolved checks, the caller waits for one to resolve (a correct password
//!   is never answered as wrong); after `MAX_WAIT` (20 s) it gets 503 + `Retry-After`. When completed
//!   failures have locked the name, the caller gets 429 + `Retry-After` without a check (the
//!   same for known and unknown names, so it reveals nothing).
//! * **Known devices**: a browser that signed in before carries a device cookie, an API client
//!   a `device_token`; for its own account it skips the name's wait and the address limit
//!   (OWASP "device cookies"). Five wrong passwords in a row from it and it is forgotten.
//! * **Per client address**: more than `ip_max_failures` failures in `ip_window_secs` and
//!   the address gets 429 with `Retry-After`. IPv6 addresses count per /64.
//!
//! Password reset never passes through here, so it stays available.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::LoginSettings;
use crate::crypto::SecretBox;
use crate::identity::password::HashError;
use crate::store::{Db, Store, throttle};

/// Consecutive wrong passwords a name may collect (NIST SP 800-63B §5.2.2: no more than 100):
/// the last of them locks the name until its failures decay, so however patient, a guesser
/// gets fewer than 100 checks per quiet period. Known devices and password reset still work.
pub const MAX_CONSECUTIVE_FAILURES: i32 = 99;
/// Wrong passwords in a row before a known device is forgotten.
pub const DEVICE_MAX_FAILURES: i32 = 5;
/// A reservation older than this (by the clock in state) belongs to a check that can no
/// longer finish (a crashed node): it stops holding its slot.
pub const IN_FLIGHT_STALE_SECS: i64 = 60;
/// Longest a caller waits for an unresolved check to free a slot before 503.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// How often a waiting caller looks again (other nodes' releases wake nobody here).
const POLL: Duration = Duration::from_millis(50);

/// Seconds a name waits after its `failures`-th consecutive failure, at most `cap`.
pub fn account_wait_secs(failures: i32, free_failures: u32, cap: i64) -> i64 {
    let over = failures - free_failures as i32;
    if over < 0 { 0 } else { (1i64 << over.min(40)).min(cap.max(0)) }
}

/// Keys login names and hands out the in-flight slots of their budgets.
#[derive(Clone)]
pub struct LoginThrottle {
    db: Db,
    keys: SecretBox,
    settings: LoginSettings,
    clock: SharedClock,
    /// Woken whenever a slot on this node resolves.
    resolved: Arc<Notify>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The outcome of asking for a password check.
#[derive(Debug)]
pub enum Admission {
    /// The check may run; resolve the slot with its outcome.
    /// (Boxed: a slot holds the throttle's handles, far larger than the other variant.)
    Admitted(Box<Slot>),
    /// Completed failures have locked the name: no check until then.
    Locked { retry_after_secs: i64 },
}

impl LoginThrottle {
    pub fn new(db: Db, keys: SecretBox, settings: LoginSettings, clock: SharedClock) -> Self {
        Self { db, keys, settings, clock, resolved: Arc::new(Notify::new()) }
    }

    /// The counter key of a login name, already normalized the way the lookup normalizes
    /// it. Known and unknown names are keyed alike.
    pub fn key(&self, normalized_name: &str) -> anyhow::Result<String> {
        Ok(format!("login:{}", self.keys.keyed_hash(normalized_name.as_bytes())?))
    }

    fn decay_point(&self, now: i64) -> i64 {
        now - self.settings.failure_decay_secs.max(1)
    }

    /// Would [`throttle::reserve`] admit a check on `c` now? (Waiters read before they try
    /// to write; the statement alone decides.)
    fn has_room(&self, c: &throttle::Counter, now: i64) -> bool {
        let free = i32::try_from(self.settings.free_failures).unwrap_or(i32::MAX);
        let failures = if c.last_failure_at <= self.decay_point(now) { 0 } else { c.failures };
        let in_flight = if c.in_flight_since <= now - IN_FLIGHT_STALE_SECS { 0 } else { c.in_flight };
        let room = if failures < free { free - failures } else { 1 };
        c.locked_until <= now && in_flight < room
    }

    /// Waits for a slot for `key`, or says how long the name is locked.
    pub async fn admit(&self, key: &str) -> anyhow::Result<Admission> {
        let free = i32::try_from(self.settings.free_failures).unwrap_or(i32::MAX);
        let started = tokio::time::Instant::now();
        loop {
            let now = self.clock.unix();
            let stale_point = now - IN_FLIGHT_STALE_SECS;
            if throttle::reserve(&self.db, key, now, self.decay_point(now), stale_point, free).await? {
                return Ok(Admission::Admitted(Box::new(Slot { throttle: self.clone(), key: Some(key.to_string()) })));
            }
            // Locked, or full of unresolved checks: read (no write) until that changes.
            loop {
                let resolved = self.resolved.notified();
                tokio::pin!(resolved);
                resolved.as_mut().enable();
                let now = self.clock.unix();
                let seen = throttle::load(&self.db, key).await?.unwrap_or_default();
                if seen.locked_until > now {
                    throttle::add_refused(&self.db, key).await?;
                    return Ok(Admission::Locked { retry_after_secs: seen.locked_until - now });
                }
                if self.has_room(&seen, now) {
                    break;
                }
                if started.elapsed() >= MAX_WAIT {
                    // Still every slot taken by unresolved checks: busy (503), never "wrong".
                    return Err(HashError::Busy.into());
                }
                let _ = tokio::time::timeout(POLL, resolved).await;
            }
        }
    }

    /// A success without a slot (password reset): the name starts afresh.
    pub async fn reset(&self, key: &str) -> anyhow::Result<()> {
        throttle::reset(&self.db, key).await
    }
}

/// One admitted password check. Resolve it with [`Slot::failed`] or [`Slot::succeeded`];
/// dropped unresolved (an error, a cancelled request) it is given back without counting.
#[derive(Debug)]
pub struct Slot {
    throttle: LoginThrottle,
    key: Option<String>,
}

impl Slot {
    /// The password was wrong: the slot becomes a failure, and the wait it earned begins.
    pub async fn failed(mut self) -> anyhow::Result<()> {
        let Some(key) = self.key.clone() else { return Ok(()) };
        let t = &self.throttle;
        let now = t.clock.unix();
        let failures = throttle::count_failure(&t.db, &key, now, t.decay_point(now)).await?;
        let s = &t.settings;
        let wait = if failures >= MAX_CONSECUTIVE_FAILURES {
            s.failure_decay_secs.max(1)
        } else {
            account_wait_secs(failures, s.free_failures, s.max_wait_secs)
        };
        let locked_until = now + wait;
        throttle::release_with_lock(&t.db, &key, locked_until, now + s.failure_decay_secs.max(1)).await?;
        self.key = None;
        t.resolved.notify_waiters();
        Ok(())
    }

    /// The password was right: the slot is given back and the name starts afresh.
    pub async fn succeeded(mut self) -> anyhow::Result<()> {
        let Some(key) = self.key.clone() else { return Ok(()) };
        throttle::release_with_success(&self.throttle.db, &key).await?;
        self.key = None;
        self.throttle.resolved.notify_waiters();
        Ok(())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let owner = self.throttle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = throttle::release(&owner.db, &key).await {
                    tracing::warn!(error = %format!("{e:#}"), "giving back a password-check slot failed");
                }
                owner.resolved.notify_waiters();
            });
        }
    }
}

/// The counter key of a client address.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("ip:{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Seconds until `ip` may try again, when it has used up its failures for the window.
pub async fn address_wait(db: &Db, ip: IpAddr, now: i64, settings: &LoginSettings) -> anyhow::Result<Option<i64>> {
    window_wait(db, &address_key(ip), settings.ip_max_failures, settings.ip_window_secs, now).await
}

/// For a fixed-window counter: seconds until it accepts events again, once `max` are used.
pub async fn window_wait(db: &Db, key: &str, max: u32, window: i64, now: i64) -> anyhow::Result<Option<i64>> {
    let Some(c) = throttle::load(db, key).await? else { return Ok(None) };
    let window_end = c.window_started_at + window;
    Ok((window_end > now && c.failures >= max as i32).then(|| window_end - now))
}

/// Takes one event from a fixed-window budget of `max` per `window`, atomically; false when
/// it is spent.
pub async fn take_from_window(
    db: &impl crate::store::Store,
    key: &str,
    max: u32,
    window: i64,
    now: i64,
) -> anyhow::Result<bool> {
    throttle::take_window_slot(db, key, now, window, max).await
}

/// Like [`take_from_window`], but says how long until the budget refills when it is spent.
pub async fn take_or_wait(db: &Db, key: &str, max: u32, window: i64, now: i64) -> anyhow::Result<Option<i64>> {
    if throttle::take_window_slot(db, key, now, window, max).await? {
        return Ok(None);
    }
    let started = throttle::load(db, key).await?.map_or(now, |c| c.window_started_at);
    Ok(Some((started + window - now).max(1)))
}

pub async fn address_failed(s: &impl Store, ip: IpAddr, now: i64, settings: &LoginSettings) -> anyhow::Result<()> {
    throttle::add_window_failure(s, &address_key(ip), now, settings.ip_window_secs).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_double_and_stop_at_the_cap() {
        let waits: Vec<i64> = (1..=9).map(|n| account_wait_secs(n, 5, 900)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(account_wait_secs(15, 5, 900), 900, "2^10 s would be 17 minutes: capped at 15");
        assert_eq!(account_wait_secs(i32::MAX, 5, 900), 900, "no overflow however many failures");
    }

    #[test]
    fn a_patient_attacker_gets_about_one_check_per_cap_interval() {
        // The waits after the free failures, summed until the 100th check.
        let total: i64 = (1..100).map(|n| account_wait_secs(n, 5, 900)).sum();
        let ramp: i64 = (5..15).map(|n| account_wait_secs(n, 5, 900)).sum();
        assert_eq!(total, ramp + 85 * 900, "ten doubling waits, then 15 minutes each");
        assert!(total > 20 * 3600, "100 guesses on one name take most of a day: {total} s");
    }

    #[test]
    fn ipv6_addresses_share_a_counter_per_slash_64() {
        let a = address_key("2001:db8:1:2::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "ip:2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "ip:10.0.0.1");
    }

    #[test]
    fn name_keys_are_keyed_hashes_that_reveal_nothing_of_the_name() {
        let root = crate::secret::Secret::new("root-key-material-root-key-material");
        let key = |root: &crate::secret::Secret, name: &str| {
            SecretBox::derive(root, "login-throttle").unwrap().keyed_hash(name.as_bytes()).unwrap()
        };
        let alice = key(&root, "alice");
        assert_eq!(alice, key(&root, "alice"), "stable");
        assert_eq!(alice.len(), 64);
        assert!(!alice.contains("alice"));
        assert_ne!(alice, key(&root, "alice@example.com"), "a username and an address are separate names");
        let other = crate::secret::Secret::new("another-root-key-material-000000");
        assert_ne!(alice, key(&other, "alice"), "without SECRET_KEY nobody can compute a name's key");
    }
}
