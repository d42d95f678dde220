//! Time as a parameter. Everything that expires asks a [`Clock`] from the application state;
//! tests hand in a [`ManualClock`] and move it forward (by any [`Duration`], milliseconds
//! included). Stored expiries are whole seconds ([`Clock::unix`]); windows shorter than a
//! second (the refresh-token grace window) use [`Clock::now_ms`].

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch: the unit every stored expiry uses.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Milliseconds since the Unix epoch, for windows shorter than a second. Floors like
    /// [`Clock::unix`], so `now_ms().div_euclid(1000) == unix()`.
    fn now_ms(&self) -> i64 {
        let ms = self.now().unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(ms).unwrap_or(i64::MAX)
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_by_milliseconds_and_seconds_stay_floored() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now_ms(), 1_700_000_000_000);
        clock.advance(Duration::milliseconds(500));
        assert_eq!((clock.now_ms(), clock.unix()), (1_700_000_000_500, 1_700_000_000));
        clock.advance(Duration::milliseconds(501));
        assert_eq!((clock.now_ms(), clock.unix()), (1_700_000_001_001, 1_700_000_001));
    }
}
