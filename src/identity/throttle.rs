//! Login throttling that slows guessing without handing attackers a lockout button.
//!
//! * **Per account**: the first `free_failures` wrong passwords cost nothing; after that each
//!   failure doubles the wait before the next password check (1 s, 2 s, 4 s, …). Attempts
//!   inside the wait are turned away *with the same response as a wrong password* and never
//!   reach the password check, so fewer than 100 consecutive failures can ever be checked
//!   for one account. Every attempt claims its slot with a compare-and-swap, so parallel
//!   attempts are all counted, on every node. A success resets the counter.
//! * **Known devices**: a browser that logged in before carries a device cookie; for its
//!   own account it skips the account wait and the address limit (OWASP "device cookies").
//!   Five wrong passwords in a row from it and it is forgotten.
//! * **Per client address**: more than `ip_max_failures` failures in `ip_window_secs` and
//!   the address gets 429 with `Retry-After`. IPv6 addresses count per /64.
//!
//! Password reset never passes through here, so it stays available.

use std::net::IpAddr;

use crate::config::LoginSettings;
use crate::store::{Db, throttle};

/// Most attempts a single CAS loop makes before refusing under contention.
const CLAIM_ROUNDS: usize = 16;
/// Wrong passwords in a row before a known device is forgotten.
pub const DEVICE_MAX_FAILURES: i32 = 5;

/// Seconds an account waits after its `failures`-th consecutive failure.
pub fn account_wait_secs(failures: i32, free_failures: u32) -> i64 {
    let over = failures - free_failures as i32;
    if over < 0 { 0 } else { 1i64 << over.min(40) }
}

/// The counter key of an account (by id) or of a login name that matches no account; both
/// are throttled alike, so throttling reveals nothing about which names exist.
pub fn account_key(user_id: Option<String>, login_name: &str) -> String {
    match user_id {
        Some(id) => format!("acct:{id}"),
        None => format!("name:{}", login_name.trim().to_lowercase()),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    Refused,
}

/// Claims the right to check one password for `key`, counting the attempt either way.
pub async fn admit_account(db: &Db, key: &str, now: i64, settings: &LoginSettings) -> anyhow::Result<Admission> {
    for _ in 0..CLAIM_ROUNDS {
        let seen = throttle::load(db, key).await?;
        if seen.is_some_and(|c| c.locked_until > now) {
            throttle::add_refused(db, key).await?;
            return Ok(Admission::Refused);
        }
        let failures = seen.map_or(0, |c| c.failures) + 1;
        let locked_until = now + account_wait_secs(failures, settings.free_failures);
        if throttle::claim_attempt(db, key, seen, locked_until).await? {
            return Ok(Admission::Allowed);
        }
    }
    // Heavy contention on one account is itself a sign of an attack.
    throttle::add_refused(db, key).await?;
    Ok(Admission::Refused)
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

/// Takes one event from a fixed-window budget of `max` per `window`; false when it is spent.
pub async fn take_from_window(db: &Db, key: &str, max: u32, window: i64, now: i64) -> anyhow::Result<bool> {
    if window_wait(db, key, max, window, now).await?.is_some() {
        return Ok(false);
    }
    throttle::add_window_failure(db, key, now, window).await?;
    Ok(true)
}

pub async fn address_failed(db: &Db, ip: IpAddr, now: i64, settings: &LoginSettings) -> anyhow::Result<()> {
    throttle::add_window_failure(db, &address_key(ip), now, settings.ip_window_secs).await
}

/// A success: the account's counter starts afresh.
pub async fn reset_account(db: &Db, user: &crate::identity::user::User) -> anyhow::Result<()> {
    throttle::reset(db, &account_key(Some(user.id.to_string()), &user.username)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double() {
        let waits: Vec<i64> = (1..=9).map(|n| account_wait_secs(n, 5)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16]);
    }

    #[test]
    fn fewer_than_a_hundred_checks_fit_in_any_human_time() {
        // Sum of the waits an attacker must sit through to get check number 100.
        let total: i64 = (1..100).map(|n| account_wait_secs(n, 5)).fold(0i64, |a, w| a.saturating_add(w));
        assert!(total > 1_000 * 365 * 24 * 3600, "{total}");
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
    fn unknown_names_and_accounts_get_separate_keys() {
        assert_eq!(account_key(None, " Alice "), "name:alice");
        assert_eq!(account_key(Some("id-1".into()), "alice"), "acct:id-1");
    }
}
