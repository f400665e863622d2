//! Daily quota windows.
//!
//! Contract: a "day" is the UTC calendar day, the same for every replica and
//! time zone, so counters keyed by [`day_key`] agree everywhere. Counters
//! expire at the end of their day ([`seconds_until_day_end`]), so no sweeper
//! is needed.

use chrono::{DateTime, Days, Utc};

/// Key of the quota window containing `now`: `YYYY-MM-DD` in UTC.
pub fn day_key(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// Seconds from `now` to the next UTC midnight, rounded up and at least 1,
/// for the TTL of a day's counter (a TTL of 0 would mean "no expiry" or
/// "delete now" depending on the store).
pub fn seconds_until_day_end(now: DateTime<Utc>) -> u64 {
    let next_midnight = now.date_naive().checked_add_days(Days::new(1)).and_then(|d| d.and_hms_opt(0, 0, 0));
    let Some(end) = next_midnight else {
        return 1;
    };
    let left = end.and_utc() - now;
    let secs = left.num_seconds() + i64::from(left.subsec_nanos() > 0);
    u64::try_from(secs).unwrap_or(1).max(1)
}

/// What is left of a quota: never negative, even when usage overshot the
/// limit (a lowered limit, or a race resolved in the caller's favour).
pub fn remaining(limit: i64, used: i64) -> i64 {
    limit.saturating_sub(used).max(0)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid")
    }

    #[test]
    fn day_key_is_utc_date() {
        assert_eq!(day_key(at(2025, 3, 9, 0, 0, 0)), "2025-03-09");
        assert_eq!(day_key(at(2025, 12, 31, 23, 59, 59)), "2025-12-31");
    }

    #[test]
    fn seconds_until_midnight() {
        assert_eq!(seconds_until_day_end(at(2025, 3, 9, 0, 0, 0)), 86_400);
        assert_eq!(seconds_until_day_end(at(2025, 3, 9, 23, 59, 59)), 1);
        assert_eq!(seconds_until_day_end(at(2024, 12, 31, 12, 0, 0)), 43_200);
        let almost = at(2025, 3, 9, 23, 59, 59) + Duration::milliseconds(999);
        assert_eq!(seconds_until_day_end(almost), 1, "never 0");
        let half = at(2025, 3, 9, 23, 59, 58) + Duration::milliseconds(500);
        assert_eq!(seconds_until_day_end(half), 2, "rounded up");
    }

    #[test]
    fn remaining_never_negative() {
        assert_eq!(remaining(100, 30), 70);
        assert_eq!(remaining(100, 100), 0);
        assert_eq!(remaining(100, 150), 0);
        assert_eq!(remaining(0, 0), 0);
        assert_eq!(remaining(i64::MIN, i64::MAX), 0);
        assert_eq!(remaining(i64::MAX, i64::MIN), i64::MAX);
    }
}
