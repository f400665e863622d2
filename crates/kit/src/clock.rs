//! Injectable wall-clock time. Every time-dependent rule (token expiry,
//! lockouts, leases, schedules) asks a [`Clock`] instead of calling
//! `Utc::now()`, so tests drive time with a [`ManualClock`] and never sleep.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// Shared handle passed down to services and their domain code.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Whole microseconds: what MySQL's `datetime(6)` keeps and what keyset
    /// page tokens carry. SQLite would store nanoseconds, and rows written
    /// in one statement (same `now`) would then fall between two pages.
    fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(Utc::now(), 6)
    }
}

/// The real clock as a [`SharedClock`].
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that only moves when told to. Cheap to clone: clones share the
/// same time, so a test keeps one handle and gives another to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves time forward (or backward, with a negative duration).
    pub fn advance(&self, by: Duration) {
        // A poisoned lock only means another test thread panicked; the time value is still valid.
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// This clock as a [`SharedClock`] sharing the same time.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_keeps_whole_microseconds() {
        for _ in 0..100 {
            assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1_000, 0);
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp");
        let clock = ManualClock::new(start);
        let shared = clock.shared();
        assert_eq!(shared.now(), start);
        clock.advance(Duration::seconds(90));
        assert_eq!(shared.now(), start + Duration::seconds(90));
        clock.set(start);
        assert_eq!(shared.now(), start);
    }
}
