//! How a delivery attempt is judged, and when the next one is due (Svix's
//! schedule).
//!
//! Contract:
//! - [`judge`]: 2xx succeeds; network errors, timeouts, 5xx, 408 and 429 are
//!   retried; 3xx (redirects are never followed) and every other 4xx fail at
//!   once unless the [`ResponsePolicy`] lists the status; an attempt the SSRF
//!   guard refused fails at once (retrying cannot make the address public),
//!   and so does one whose request could not be built.
//!   A received status decides over a transport error.
//! - [`RetrySchedule`]: the first attempt runs at the scheduled time;
//!   `intervals[i]` is the wait after failed attempt `i + 1`, the last interval
//!   repeating when `max_retries` exceeds the list. Each wait is jittered
//!   uniformly by ±20 % so that a receiver's outage does not turn into a
//!   synchronised stampede when it comes back. After a 429 or a timeout the
//!   wait is at least [`THROTTLE_FLOOR`]; a `Retry-After` is honoured as a
//!   floor, capped at [`RETRY_AFTER_CAP`] so a receiver cannot park a task
//!   forever.

use std::time::Duration;

use rand::Rng;

/// Seconds to wait after failed attempts 1..=7 (Svix's schedule: 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 10 h — about a day and a half in all).
pub const DEFAULT_RETRY_INTERVALS: [u32; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/// Least wait after a 429 or a timeout: the receiver is overloaded, and a
/// retry seconds later only adds to it.
pub const THROTTLE_FLOOR: Duration = Duration::from_secs(60);

/// Most a `Retry-After` can push the next attempt back.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * 3600);

/// Jitter, in percent of the nominal interval, either way.
const JITTER_PERCENT: u64 = 20;

/// What went wrong when an attempt produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connecting, TLS, or the connection dropped.
    Network,
    /// The attempt's timeout elapsed.
    Timeout,
    /// The SSRF guard refused the destination (private or disallowed address).
    SsrfBlocked,
    /// The request could not be built from the task (a header or URL the
    /// HTTP client rejects); the same task would fail the same way.
    InvalidRequest,
}

/// Why an attempt is worth repeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    Network,
    Timeout,
    /// 5xx.
    ServerError,
    /// 429.
    TooManyRequests,
    /// 408.
    RequestTimeout,
    /// A status the [`ResponsePolicy`] lists as retryable.
    Configured,
}

impl RetryKind {
    /// The receiver is overloaded or slow, so the next attempt waits at least
    /// [`THROTTLE_FLOOR`].
    fn is_throttle(self) -> bool {
        matches!(self, Self::Timeout | Self::TooManyRequests | Self::RequestTimeout)
    }
}

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Success,
    Retryable {
        kind: RetryKind,
        retry_after: Option<Duration>,
    },
    /// Repeating the same request cannot succeed.
    Permanent,
}

impl AttemptOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

/// Which otherwise-final statuses a deployment retries anyway (some receivers
/// answer 404 or 409 while they are still deploying).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponsePolicy {
    pub retry_statuses: Vec<u16>,
}

/// Judges an attempt by its response status or, when there was no response,
/// by its error; with neither it is treated as a network failure.
pub fn judge(
    status: Option<u16>,
    error: Option<ErrorKind>,
    retry_after: Option<Duration>,
    policy: &ResponsePolicy,
) -> AttemptOutcome {
    let retry = |kind| AttemptOutcome::Retryable { kind, retry_after };
    match (status, error) {
        (Some(200..=299), _) => AttemptOutcome::Success,
        (Some(429), _) => retry(RetryKind::TooManyRequests),
        (Some(408), _) => retry(RetryKind::RequestTimeout),
        (Some(500..=599), _) => retry(RetryKind::ServerError),
        (Some(s), _) if policy.retry_statuses.contains(&s) => retry(RetryKind::Configured),
        (Some(_), _) => AttemptOutcome::Permanent,
        (None, Some(ErrorKind::SsrfBlocked | ErrorKind::InvalidRequest)) => AttemptOutcome::Permanent,
        (None, Some(ErrorKind::Timeout)) => retry(RetryKind::Timeout),
        (None, Some(ErrorKind::Network) | None) => retry(RetryKind::Network),
    }
}

/// When each retry of a task is due, and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    intervals: Vec<u32>,
    max_retries: u32,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::new(Vec::new(), DEFAULT_RETRY_INTERVALS.len() as u32)
    }
}

impl RetrySchedule {
    /// Bounds are the request parser's job; an empty list means the default
    /// intervals, so a stored task always has a wait to use.
    pub fn new(intervals: Vec<u32>, max_retries: u32) -> Self {
        let intervals = if intervals.is_empty() { DEFAULT_RETRY_INTERVALS.to_vec() } else { intervals };
        Self { intervals, max_retries }
    }

    /// Seconds after each failed attempt, as stored with the task.
    pub fn intervals(&self) -> &[u32] {
        &self.intervals
    }

    /// Attempts allowed after the first.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before the next attempt, after `attempts_done` attempts (the
    /// last of which ended in `outcome`); `None` when the task is finished:
    /// it succeeded, failed permanently, or spent its retries.
    pub fn next_delay(&self, attempts_done: u32, outcome: &AttemptOutcome, rng: &mut impl Rng) -> Option<Duration> {
        let AttemptOutcome::Retryable { kind, retry_after } = *outcome else {
            return None;
        };
        if attempts_done > self.max_retries {
            return None;
        }
        let index = (attempts_done.saturating_sub(1) as usize).min(self.intervals.len() - 1);
        let nominal_ms = u64::from(self.intervals[index]) * 1000;
        let spread = nominal_ms * JITTER_PERCENT / 100;
        let mut delay = Duration::from_millis(rng.gen_range(nominal_ms - spread..=nominal_ms + spread));
        if kind.is_throttle() {
            delay = delay.max(THROTTLE_FLOOR);
        }
        if let Some(after) = retry_after {
            delay = delay.max(after.min(RETRY_AFTER_CAP));
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const SERVER_ERROR: AttemptOutcome = AttemptOutcome::Retryable { kind: RetryKind::ServerError, retry_after: None };

    fn none() -> ResponsePolicy {
        ResponsePolicy::default()
    }

    #[test]
    fn default_schedule_follows_svix_within_jitter() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_retries(), 7);
        assert_eq!(schedule.intervals(), DEFAULT_RETRY_INTERVALS);
        let mut rng = StdRng::seed_from_u64(7);
        for seed_round in 0..500 {
            for (i, nominal) in DEFAULT_RETRY_INTERVALS.iter().enumerate() {
                let attempts = i as u32 + 1;
                let delay = schedule.next_delay(attempts, &SERVER_ERROR, &mut rng).expect("within budget");
                let nominal_ms = f64::from(*nominal) * 1000.0;
                let ms = delay.as_millis() as f64;
                assert!(
                    ms >= nominal_ms * 0.8 && ms <= nominal_ms * 1.2,
                    "round {seed_round}, attempt {attempts}: {ms} ms vs nominal {nominal_ms}"
                );
            }
        }
    }

    #[test]
    fn jitter_spreads_both_ways_and_zero_stays_zero() {
        let schedule = RetrySchedule::new(vec![0, 100], 2);
        let mut rng = StdRng::seed_from_u64(42);
        assert_eq!(schedule.next_delay(1, &SERVER_ERROR, &mut rng), Some(Duration::ZERO));
        let draws: Vec<u128> =
            (0..1000).filter_map(|_| schedule.next_delay(2, &SERVER_ERROR, &mut rng)).map(|d| d.as_millis()).collect();
        assert_eq!(draws.len(), 1000);
        assert!(draws.iter().all(|ms| (80_000..=120_000).contains(ms)));
        assert!(draws.iter().any(|&ms| ms < 90_000), "some draws well below nominal");
        assert!(draws.iter().any(|&ms| ms > 110_000), "some draws well above nominal");
    }

    #[test]
    fn budget_is_max_retries_after_the_first_attempt_and_the_last_interval_repeats() {
        let schedule = RetrySchedule::new(vec![10, 20], 4);
        let mut rng = StdRng::seed_from_u64(1);
        let nominal: Vec<Option<u64>> = (1..=5)
            .map(|n| schedule.next_delay(n, &SERVER_ERROR, &mut rng).map(|d| (d.as_secs_f64() / 10.0).round() as u64))
            .collect();
        // 10 s, then 20 s repeating; after attempt 5 (the 4th retry) nothing is left.
        assert_eq!(nominal, vec![Some(1), Some(2), Some(2), Some(2), None]);
        let fewer = RetrySchedule::new(vec![10, 20, 30], 1);
        assert!(fewer.next_delay(1, &SERVER_ERROR, &mut rng).is_some());
        assert_eq!(fewer.next_delay(2, &SERVER_ERROR, &mut rng), None);
        assert_eq!(RetrySchedule::new(vec![10], 0).next_delay(1, &SERVER_ERROR, &mut rng), None);
    }

    #[test]
    fn empty_intervals_mean_the_default() {
        assert_eq!(RetrySchedule::new(Vec::new(), 3).intervals(), DEFAULT_RETRY_INTERVALS);
    }

    #[test]
    fn finished_outcomes_have_no_next_attempt() {
        let schedule = RetrySchedule::default();
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(schedule.next_delay(1, &AttemptOutcome::Success, &mut rng), None);
        assert_eq!(schedule.next_delay(1, &AttemptOutcome::Permanent, &mut rng), None);
    }

    #[test]
    fn throttling_and_timeouts_wait_at_least_a_minute() {
        let schedule = RetrySchedule::default();
        let mut rng = StdRng::seed_from_u64(9);
        for outcome in [judge(Some(429), None, None, &none()), judge(None, Some(ErrorKind::Timeout), None, &none())] {
            for _ in 0..100 {
                assert!(schedule.next_delay(1, &outcome, &mut rng).expect("retryable") >= THROTTLE_FLOOR);
            }
        }
        // A later interval above the floor keeps its own (jittered) length.
        let late = schedule.next_delay(3, &judge(Some(429), None, None, &none()), &mut rng).expect("retryable");
        assert!(late >= Duration::from_secs(1440));
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_a_day() {
        let schedule = RetrySchedule::default();
        let mut rng = StdRng::seed_from_u64(11);
        let asked = judge(Some(503), None, Some(Duration::from_secs(600)), &none());
        assert_eq!(
            asked,
            AttemptOutcome::Retryable { kind: RetryKind::ServerError, retry_after: Some(Duration::from_secs(600)) }
        );
        assert_eq!(schedule.next_delay(1, &asked, &mut rng), Some(Duration::from_secs(600)));
        let greedy = judge(Some(429), None, Some(Duration::from_secs(7 * 24 * 3600)), &none());
        assert_eq!(schedule.next_delay(1, &greedy, &mut rng), Some(RETRY_AFTER_CAP));
        // A Retry-After shorter than the schedule does not shorten it.
        let short = judge(Some(503), None, Some(Duration::from_secs(1)), &none());
        assert!(schedule.next_delay(2, &short, &mut rng).expect("retryable") >= Duration::from_secs(240));
    }

    #[test]
    fn statuses_are_judged_by_class() {
        let p = none();
        assert_eq!(judge(Some(200), None, None, &p), AttemptOutcome::Success);
        assert_eq!(judge(Some(204), Some(ErrorKind::Timeout), None, &p), AttemptOutcome::Success, "status wins");
        for (status, kind) in [
            (500, RetryKind::ServerError),
            (503, RetryKind::ServerError),
            (599, RetryKind::ServerError),
            (408, RetryKind::RequestTimeout),
            (429, RetryKind::TooManyRequests),
        ] {
            assert_eq!(judge(Some(status), None, None, &p), AttemptOutcome::Retryable { kind, retry_after: None });
        }
        for status in [301, 302, 307, 308, 400, 401, 403, 404, 409, 410, 422, 100, 600] {
            assert_eq!(judge(Some(status), None, None, &p), AttemptOutcome::Permanent, "{status}");
        }
    }

    #[test]
    fn listed_statuses_are_retried() {
        let p = ResponsePolicy { retry_statuses: vec![404, 409, 302] };
        for status in [404, 409, 302] {
            let outcome = judge(Some(status), None, None, &p);
            assert_eq!(outcome, AttemptOutcome::Retryable { kind: RetryKind::Configured, retry_after: None });
            assert!(outcome.is_retryable());
        }
        assert_eq!(judge(Some(400), None, None, &p), AttemptOutcome::Permanent);
    }

    #[test]
    fn transport_errors_retry_except_ssrf_refusals() {
        let p = none();
        let network = AttemptOutcome::Retryable { kind: RetryKind::Network, retry_after: None };
        assert_eq!(judge(None, Some(ErrorKind::Network), None, &p), network);
        assert_eq!(judge(None, None, None, &p), network);
        assert_eq!(
            judge(None, Some(ErrorKind::Timeout), None, &p),
            AttemptOutcome::Retryable { kind: RetryKind::Timeout, retry_after: None }
        );
        assert_eq!(judge(None, Some(ErrorKind::SsrfBlocked), None, &p), AttemptOutcome::Permanent);
        assert_eq!(judge(None, Some(ErrorKind::InvalidRequest), None, &p), AttemptOutcome::Permanent);
        assert!(!AttemptOutcome::Permanent.is_success() && AttemptOutcome::Success.is_success());
    }
}
