//! When signing keys rotate, and what each key is doing now.
//!
//! A rotation adds one key per algorithm. The new key is *published* (in the JWKS, signing
//! nothing) for the publish delay, so relying parties' JWKS caches and every node's key cache
//! pick it up; then it is *active* (signs new tokens) and the key it replaces is *retired*:
//! still in the JWKS and still verifying, signing nothing, until every token it signed has
//! expired (the longest lifetime of anything we sign, plus a margin); then it is *removed*.
//!
//! Rotations happen by hand (`portcullis keys rotate`) or on a schedule (`keys.rotate_every`,
//! checked by the housekeeping task). Several nodes may find the same rotation due at once:
//! each claims it with a compare-and-set on the schedule row (see `store::keys::rotate`), so
//! exactly one of them rotates.

use anyhow::Context;

use super::keys::{Alg, KeyRing};
use crate::audit::{Actor, Event, EventKind};
use crate::config::Settings;
pub use crate::config::{KeySettings, RotateEvery};
use crate::store::keys::{self, Rotation, StoredKey, Turn};

/// Added to the longest token lifetime before a retired key leaves the JWKS: clock skew at
/// relying parties and the leeway our own checks allow past `exp`.
pub const RETIREMENT_MARGIN_SECS: i64 = 300;

/// How rotations are timed.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// Seconds between scheduled rotations; none: by hand only.
    pub every: Option<i64>,
    /// Seconds a new key is published before it signs.
    pub publish_delay: i64,
    /// Seconds a retired key stays published: the longest token lifetime plus the margin.
    pub keep_retired: i64,
}

impl RotationPolicy {
    /// From the settings: `keys.rotate_every`, `tokens.key_rotation_delay_secs`, and the
    /// lifetimes of everything we sign (ID tokens and access tokens).
    pub fn from_settings(settings: &Settings) -> Self {
        let t = &settings.tokens;
        let longest = [t.id_token_ttl_secs, t.access_token_ttl_secs].into_iter().max().unwrap_or(0);
        let every = settings.keys.rotate_every.secs();
        Self {
            every: (every > 0).then_some(every),
            publish_delay: t.key_rotation_delay_secs.max(0),
            keep_retired: longest + RETIREMENT_MARGIN_SECS,
        }
    }
}

/// What a key is doing at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// In the JWKS, not signing yet.
    Published,
    /// Signs new tokens.
    Active,
    /// In the JWKS and verifying what it signed, signing nothing.
    Retired,
    /// Out of the JWKS, verifying nothing (the row goes at the next housekeeping).
    Removed,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Removed => "removed",
        }
    }

    fn of(key: &StoredKey, now: i64) -> Self {
        if key.expires_at.is_some_and(|e| e <= now) {
            KeyState::Removed
        } else if key.retires_at.is_some_and(|r| r <= now) {
            KeyState::Retired
        } else if key.activates_at > now {
            KeyState::Published
        } else {
            KeyState::Active
        }
    }
}

/// One key's life, for `portcullis keys list`.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: i64,
    pub activates_at: i64,
    pub retires_at: Option<i64>,
    pub removed_at: Option<i64>,
}

impl KeyRing {
    /// Every stored key and its state now, by algorithm, oldest first.
    pub async fn statuses(&self) -> anyhow::Result<Vec<KeyStatus>> {
        let now = self.clock.unix();
        let mut out: Vec<KeyStatus> = keys::all(&self.db)
            .await?
            .into_iter()
            .map(|k| KeyStatus {
                state: KeyState::of(&k, now),
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                activates_at: k.activates_at,
                retires_at: k.retires_at,
                removed_at: k.expires_at,
            })
            .collect();
        let order = |alg: &str| Alg::ALL.iter().position(|a| a.name() == alg).unwrap_or(Alg::ALL.len());
        out.sort_by_key(|k| (order(&k.alg), k.activates_at, k.created_at));
        Ok(out)
    }

    /// When the next scheduled rotation is due (none when rotation is by hand only).
    pub async fn next_rotation(&self, policy: &RotationPolicy) -> anyhow::Result<Option<i64>> {
        let Some(every) = policy.every else { return Ok(None) };
        let last = match keys::last_rotation(&self.db).await? {
            Some(at) => at,
            None => self.newest_key_created().await?,
        };
        Ok(Some(last + every))
    }

    async fn newest_key_created(&self) -> anyhow::Result<i64> {
        let stored = keys::all(&self.db).await?;
        Ok(stored.iter().map(|k| k.created_at).max().unwrap_or_else(|| self.clock.unix()))
    }

    /// Adds a new key per algorithm that signs after `delay_secs`; the keys it replaces retire
    /// then and stay published for `keep_retired_secs` more. Resets the schedule. `actor` is
    /// who asked (the CLI, an administrator), recorded with the `key.rotated` event.
    pub async fn rotate(
        &self,
        delay_secs: i64,
        keep_retired_secs: i64,
        actor: Actor,
    ) -> anyhow::Result<Vec<(Alg, String)>> {
        let now_ms = self.clock.now_ms();
        let now = now_ms.div_euclid(1000);
        let fresh = self.fresh_keys(now + delay_secs.max(0)).await?;
        let event = rotated(actor, "manual", &fresh);
        let remove_retired_at = now + delay_secs.max(0) + keep_retired_secs;
        let rotation = Rotation { keys: &fresh, remove_retired_at, now, event: &event, now_ms };
        keys::rotate(&self.db, Turn::Manual, rotation).await?;
        self.refresh().await?;
        Ok(added(&fresh))
    }

    /// The housekeeping step: rotates when the schedule says so and no other node has done
    /// it since this node looked. Returns the new keys when this node rotated.
    pub async fn rotate_if_due(&self, policy: &RotationPolicy) -> anyhow::Result<Option<Vec<(Alg, String)>>> {
        let Some(every) = policy.every else { return Ok(None) };
        let now_ms = self.clock.now_ms();
        let now = now_ms.div_euclid(1000);
        let seen = match keys::last_rotation(&self.db).await? {
            Some(at) => at,
            None => {
                // First run against this database: the newest key counts as the last rotation.
                keys::start_schedule(&self.db, self.newest_key_created().await?).await?;
                keys::last_rotation(&self.db).await?.context("the key schedule row is missing")?
            }
        };
        if now < seen + every {
            return Ok(None);
        }
        // Key generation (RSA) happens outside the transaction; a node that loses the claim
        // throws its keys away.
        let activates_at = now + policy.publish_delay;
        let fresh = self.fresh_keys(activates_at).await?;
        let event = rotated(Actor::System, "scheduled", &fresh);
        let remove_retired_at = activates_at + policy.keep_retired;
        let rotation = Rotation { keys: &fresh, remove_retired_at, now, event: &event, now_ms };
        if !keys::rotate(&self.db, Turn::Scheduled { seen }, rotation).await? {
            return Ok(None);
        }
        self.refresh().await?;
        Ok(Some(added(&fresh)))
    }

    async fn fresh_keys(&self, activates_at: i64) -> anyhow::Result<Vec<StoredKey>> {
        let mut fresh = Vec::with_capacity(Alg::ALL.len());
        for alg in Alg::ALL {
            fresh.push(self.new_key(alg, activates_at).await?);
        }
        Ok(fresh)
    }
}

/// The `key.rotated` event of a rotation adding `fresh` (kids are public; the JWKS lists them).
fn rotated(actor: Actor, trigger: &str, fresh: &[StoredKey]) -> Event {
    let keys: Vec<serde_json::Value> = fresh
        .iter()
        .map(|k| serde_json::json!({ "alg": k.alg, "kid": k.kid, "activates_at": k.activates_at }))
        .collect();
    Event::new(EventKind::KeyRotated).actor(actor).detail("trigger", trigger).detail("keys", keys)
}

fn added(fresh: &[StoredKey]) -> Vec<(Alg, String)> {
    fresh.iter().filter_map(|k| Alg::parse(&k.alg).map(|alg| (alg, k.kid.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_every_defaults_to_ninety_days_and_is_set_by_file_or_environment() {
        let defaults = Settings::defaults().unwrap();
        assert_eq!(defaults.keys.rotate_every.secs(), 90 * 86_400);
        let policy = RotationPolicy::from_settings(&defaults);
        assert_eq!(policy.every, Some(90 * 86_400));
        assert_eq!(policy.keep_retired, defaults.tokens.id_token_ttl_secs + RETIREMENT_MARGIN_SECS);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("extra.toml");
        std::fs::write(&path, "[keys]\nrotate_every = \"30d\"\n").unwrap();
        assert_eq!(Settings::load(Some(&path), Vec::new()).unwrap().keys.rotate_every.secs(), 30 * 86_400);
        std::fs::write(&path, "[keys]\nrotate_every = 86400\n").unwrap();
        assert_eq!(Settings::load(Some(&path), Vec::new()).unwrap().keys.rotate_every.secs(), 86_400);

        let env = vec![("PORTCULLIS_KEYS_ROTATE_EVERY".to_string(), "7d".to_string())];
        assert_eq!(Settings::load(Some(&path), env).unwrap().keys.rotate_every.secs(), 7 * 86_400, "env wins");
        let off = vec![("PORTCULLIS_KEYS_ROTATE_EVERY".to_string(), "0".to_string())];
        assert_eq!(RotationPolicy::from_settings(&Settings::load(None, off).unwrap()).every, None);
    }

    #[test]
    fn a_schedule_shorter_than_the_publish_delay_is_refused_naming_the_setting() {
        let env = vec![("PORTCULLIS_KEYS_ROTATE_EVERY".to_string(), "30m".to_string())];
        let err = Settings::load(None, env).unwrap_err().to_string();
        assert!(err.contains("keys.rotate_every"), "{err}");
        let env = vec![("PORTCULLIS_KEYS_ROTATE_EVERY".to_string(), "ninety".to_string())];
        let err = Settings::load(None, env).unwrap_err().to_string();
        assert!(err.contains("rotate_every"), "{err}");
    }
}
