//! Exponential lockout after repeated login failures.
//!
//! Contract: the failure count and `locked_until` live in the user row; these
//! functions only compute from them, with `now` passed in. Below
//! [`THRESHOLD`] failures nothing is locked; the 5th failure locks for 1 s and
//! each further one doubles it, capped at [`MAX_LOCK_SECS`] (15 min). Slowing
//! guessing down this way keeps a legitimate user out only briefly, while an
//! online brute force gets at most ~100 tries an hour.

use chrono::{DateTime, Duration, Utc};

/// Failures tolerated before the first lock; a few typos must cost nothing.
pub const THRESHOLD: i32 = 5;
/// The longest lock, so an attacker cannot lock a user out for days.
pub const MAX_LOCK_SECS: i64 = 15 * 60;

/// How long to lock after the `failed_count`-th consecutive failure (the
/// count including this failure); `None` below the threshold. Total for any
/// `i32`: huge or negative counts never overflow.
pub fn lock_duration(failed_count: i32) -> Option<Duration> {
    if failed_count < THRESHOLD {
        return None;
    }
    let exponent = failed_count - THRESHOLD;
    // 2^10 s already exceeds the cap, so larger exponents never need shifting.
    let secs = if exponent >= 10 { MAX_LOCK_SECS } else { (1_i64 << exponent).min(MAX_LOCK_SECS) };
    Some(Duration::seconds(secs))
}

/// When the lock after the `failed_count`-th failure ends, for storing in the
/// row; `None` when the failure does not lock.
pub fn locked_until(failed_count: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    lock_duration(failed_count).and_then(|d| now.checked_add_signed(d))
}

/// Whether a login must be refused right now because of an earlier lock.
pub fn is_locked(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    locked_until.is_some_and(|until| until > now)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn no_lock_below_threshold() {
        for n in [i32::MIN, -1, 0, 1, 4] {
            assert_eq!(lock_duration(n), None, "{n}");
        }
    }

    #[test]
    fn doubles_from_one_second() {
        let secs: Vec<i64> = (5..=12).map(|n| lock_duration(n).map_or(0, |d| d.num_seconds())).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128]);
    }

    #[test]
    fn capped_at_fifteen_minutes_without_overflow() {
        assert_eq!(lock_duration(14), Some(Duration::seconds(512)));
        assert_eq!(lock_duration(15), Some(Duration::seconds(900)));
        for n in [16, 40, 64, 70, 1000, i32::MAX] {
            assert_eq!(lock_duration(n), Some(Duration::seconds(MAX_LOCK_SECS)), "{n}");
        }
    }

    #[test]
    fn lock_window_is_half_open() {
        let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).single().expect("valid");
        let until = locked_until(6, now);
        assert_eq!(until, Some(now + Duration::seconds(2)));
        assert!(is_locked(until, now));
        assert!(is_locked(until, now + Duration::milliseconds(1999)));
        assert!(!is_locked(until, now + Duration::seconds(2)), "unlocked exactly at locked_until");
        assert!(!is_locked(None, now));
        assert_eq!(locked_until(4, now), None);
    }
}
