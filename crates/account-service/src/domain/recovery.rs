//! The watchdog's rules: when a silent online account counts as offline, and
//! when the next restore attempt of a dropped session is due.

use chrono::{DateTime, Duration, Utc};

/// Bounds of the restore attempts of one recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    pub heartbeat_timeout: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
}

impl RecoveryPolicy {
    /// Heartbeats older than this mean the session is gone.
    pub fn stale_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.heartbeat_timeout
    }

    /// When attempt `attempts + 1` is due after `attempts` failed ones:
    /// `backoff × 2^(attempts-1)`, capped; `None` once the attempts are spent.
    pub fn next_attempt(&self, now: DateTime<Utc>, attempts: u32) -> Option<DateTime<Utc>> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1i32.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(i32::MAX);
        let wait = self.backoff.checked_mul(factor).unwrap_or(self.backoff_max).min(self.backoff_max);
        Some(now + wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RecoveryPolicy {
        RecoveryPolicy {
            heartbeat_timeout: Duration::seconds(120),
            max_attempts: 4,
            backoff: Duration::seconds(10),
            backoff_max: Duration::seconds(25),
        }
    }

    #[test]
    fn backs_off_doubling_up_to_the_cap_then_gives_up() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap_or_default();
        let waits: Vec<_> = (1..=4).map(|a| policy().next_attempt(now, a).map(|t| (t - now).num_seconds())).collect();
        assert_eq!(waits, vec![Some(10), Some(20), Some(25), None]);
        assert_eq!(policy().next_attempt(now, 0).map(|t| (t - now).num_seconds()), Some(10));
    }

    #[test]
    fn stale_means_older_than_the_timeout() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap_or_default();
        assert_eq!(policy().stale_before(now).timestamp(), 880);
    }
}
