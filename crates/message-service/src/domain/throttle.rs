//! The per-account anti-ban rule: accounts get banned for sending too fast, so
//! every outgoing message of an account passes [`decide`] first and
//! [`record_send`] after the attempt.
//!
//! Contract:
//! - Consecutive sends are at least `min_interval` apart, plus a uniform
//!   random jitter in `0..=jitter` (millisecond resolution) drawn when the
//!   previous send happened, so the spacing never looks machine-made.
//! - `per_minute`: at most that many sends in a fixed 60 s window that opens
//!   at the first send after the previous window expired.
//! - `per_day`: at most that many sends per calendar day. The day is the
//!   window time zone's local date when a window is set (a tenant in
//!   Shanghai gets its quota back at local midnight, not in the middle of
//!   its sending hours) and the UTC date otherwise. A window that wraps
//!   midnight therefore spans two quota days.
//! - The window is wall-clock local time in its IANA zone, `start` inclusive,
//!   `end` exclusive. On a spring-forward day a nonexistent opening time opens
//!   at the moment the clock jumps; on a fall-back day an ambiguous opening
//!   time opens at its first occurrence, and a window covering the repeated
//!   hour is open during both occurrences.
//! - `paused_until` (provider rate limit, retry-after) blocks everything.
//!
//! [`decide`] returns the exact earliest instant at which all rules allow a
//! send, with the reason the send is blocked *now*. The state is plain serde
//! data so the dispatcher can keep it in Redis (shared by replicas,
//! compare-and-set) or in process.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::FieldError;

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;

const MINUTE: Duration = Duration::minutes(1);
/// Longest configurable interval or jitter: beyond that it is a pause, not a throttle.
const MAX_INTERVAL_MS: u64 = 3_600_000;
/// Enough for any chain of rules (pause → interval → minute → day → window).
const MAX_ROUNDS: usize = 16;

/// How fast one account may send. [`Default`] is the safe setting used when
/// neither tenant nor account overrides it: 3 s + 0–2 s jitter, 20 per
/// minute, 1,000 per day, any time of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub min_interval: Duration,
    /// Uniform extra `0..=jitter` added to each interval.
    pub jitter: Duration,
    pub per_minute: u32,
    pub per_day: u32,
    pub window: Option<SendWindow>,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            min_interval: Duration::seconds(3),
            jitter: Duration::seconds(2),
            per_minute: 20,
            per_day: 1_000,
            window: None,
        }
    }
}

impl ThrottlePolicy {
    /// Defaults, then the tenant's overrides, then the account's (the account
    /// wins: it is the most specific).
    pub fn merge(tenant: &PolicyOverrides, account: &PolicyOverrides) -> Self {
        Self::merge_over(&PolicyOverrides::default(), tenant, account)
    }

    /// Built-in defaults, then the platform's (`throttle.defaults` in the
    /// settings), then the tenant's, then the account's: each level only
    /// replaces what it sets.
    pub fn merge_over(platform: &PolicyOverrides, tenant: &PolicyOverrides, account: &PolicyOverrides) -> Self {
        let mut policy = Self::default();
        for o in [platform, tenant, account] {
            policy.min_interval = o.min_interval.unwrap_or(policy.min_interval);
            policy.jitter = o.jitter.unwrap_or(policy.jitter);
            policy.per_minute = o.per_minute.unwrap_or(policy.per_minute);
            policy.per_day = o.per_day.unwrap_or(policy.per_day);
            if let Some(window) = &o.window {
                policy.window.clone_from(window);
            }
        }
        policy
    }

    /// The quota day `at` falls in (see the module doc).
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        match &self.window {
            Some(w) => at.with_timezone(&w.tz).date_naive(),
            None => at.date_naive(),
        }
    }

    /// When the quota day after the one `at` falls in begins.
    fn next_day_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let next = self.day_of(at).succ_opt().unwrap_or(NaiveDate::MAX).and_time(NaiveTime::MIN);
        match &self.window {
            Some(w) => local_instants(w.tz, next).0,
            None => next.and_utc(),
        }
    }
}

/// Local sending hours. `end < start` wraps midnight (22:00–06:00);
/// `start == end` means no restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl SendWindow {
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let t = at.with_timezone(&self.tz).time();
        if self.start < self.end {
            self.start <= t && t < self.end
        } else if self.end < self.start {
            t >= self.start || t < self.end
        } else {
            true
        }
    }

    /// The first instant at or after `at` when the window is open.
    pub fn next_open(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_open(at) {
            return at;
        }
        let today = at.with_timezone(&self.tz).date_naive();
        // Openings from today on; a DST gap can swallow one day's opening, so
        // look a few days ahead.
        today
            .iter_days()
            .take(4)
            .flat_map(|d| {
                let (first, second) = local_instants(self.tz, d.and_time(self.start));
                [Some(first), second]
            })
            .flatten()
            .filter(|c| *c > at && self.is_open(*c))
            .min()
            // Unreachable for a real zone; a day later is the safe answer.
            .unwrap_or(at + Duration::days(1))
    }
}

/// The instant(s) a local wall-clock time denotes: one normally, two on a
/// fall-back (the second returned too), and for a nonexistent spring-forward
/// time the moment the clock jumps past it (the first valid minute after).
fn local_instants(tz: Tz, local: NaiveDateTime) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => (t.to_utc(), None),
        LocalResult::Ambiguous(a, b) => (a.to_utc(), Some(b.to_utc())),
        LocalResult::None => {
            // Gaps are whole minutes long and at most a day (Samoa, 2011).
            let mut probe = local;
            for _ in 0..(2 * 24 * 60) {
                probe += MINUTE;
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return (t.to_utc(), None);
                }
            }
            (local.and_utc(), None)
        }
    }
}

/// An account's sending history as far as the rule needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    pub last_sent: Option<DateTime<Utc>>,
    /// `last_sent + min_interval + jitter`, the jitter drawn at that send.
    pub next_allowed: Option<DateTime<Utc>>,
    pub minute_window_start: Option<DateTime<Utc>>,
    pub minute_count: u32,
    /// The quota day ([`ThrottlePolicy::day_of`]) `day_count` counts.
    pub day: Option<NaiveDate>,
    pub day_count: u32,
    pub paused_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Interval,
    MinuteCap,
    DayCap,
    Window,
    Paused,
}

impl Reason {
    /// Stable name for logs, metrics and the receiver's status message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interval => "interval",
            Self::MinuteCap => "minute_cap",
            Self::DayCap => "day_cap",
            Self::Window => "window",
            Self::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    SendNow,
    /// The earliest instant every rule allows, and the rule blocking now.
    WaitUntil(DateTime<Utc>, Reason),
}

/// May the account send at `now`, and if not, exactly when?
pub fn decide(policy: &ThrottlePolicy, state: &ThrottleState, now: DateTime<Utc>) -> Decision {
    let mut at = now;
    let mut first_reason = None;
    // Each rule only ever moves `at` forward, so this reaches the first
    // instant no rule blocks.
    for _ in 0..MAX_ROUNDS {
        let Some((later, reason)) = blocked(policy, state, at) else { break };
        first_reason.get_or_insert(reason);
        at = later;
    }
    match first_reason {
        None => Decision::SendNow,
        Some(reason) => Decision::WaitUntil(at, reason),
    }
}

/// The first rule blocking a send at `at`, with the instant it stops blocking.
fn blocked(policy: &ThrottlePolicy, state: &ThrottleState, at: DateTime<Utc>) -> Option<(DateTime<Utc>, Reason)> {
    if let Some(until) = state.paused_until
        && until > at
    {
        return Some((until, Reason::Paused));
    }
    // The stored jittered time, but never less than the current policy's
    // interval (the policy may have been tightened since).
    let next = state.last_sent.map(|t| t + policy.min_interval).max(state.next_allowed);
    if let Some(next) = next
        && next > at
    {
        return Some((next, Reason::Interval));
    }
    if let Some(start) = state.minute_window_start
        && at < start + MINUTE
        && state.minute_count >= policy.per_minute
    {
        return Some((start + MINUTE, Reason::MinuteCap));
    }
    if state.day == Some(policy.day_of(at)) && state.day_count >= policy.per_day {
        return Some((policy.next_day_start(at), Reason::DayCap));
    }
    if let Some(window) = &policy.window
        && !window.is_open(at)
    {
        return Some((window.next_open(at), Reason::Window));
    }
    None
}

/// Record a send attempt made at `now` (successful or not: the provider
/// counts attempts) and draw the jitter for the next one.
pub fn record_send(policy: &ThrottlePolicy, state: &mut ThrottleState, now: DateTime<Utc>, rng: &mut impl Rng) {
    let jitter_ms = policy.jitter.num_milliseconds().max(0);
    let jitter = Duration::milliseconds(if jitter_ms > 0 { rng.gen_range(0..=jitter_ms) } else { 0 });
    state.last_sent = Some(now);
    state.next_allowed = Some(now + policy.min_interval + jitter);
    match state.minute_window_start {
        Some(start) if now < start + MINUTE => state.minute_count = state.minute_count.saturating_add(1),
        _ => {
            state.minute_window_start = Some(now);
            state.minute_count = 1;
        }
    }
    let day = policy.day_of(now);
    if state.day == Some(day) {
        state.day_count = state.day_count.saturating_add(1);
    } else {
        state.day = Some(day);
        state.day_count = 1;
    }
}

/// Back off until `until` (a provider rate limit's retry-after). A shorter
/// pause never cuts a longer one short.
pub fn pause(state: &mut ThrottleState, until: DateTime<Utc>) {
    state.paused_until = state.paused_until.max(Some(until));
}

/// Tenant or account throttle settings as stored (JSON); every field is
/// optional and falls back to the level above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleOverrides {
    pub min_interval_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
    pub window: Option<WindowOverrides>,
}

/// `HH:MM` local times and an IANA zone. Equal `start` and `end` (both empty
/// included) means "any time", which lifts a window set at tenant level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowOverrides {
    pub start: String,
    pub end: String,
    pub time_zone: String,
}

/// Validated [`ThrottleOverrides`]. `window: Some(None)` lifts the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOverrides {
    pub min_interval: Option<Duration>,
    pub jitter: Option<Duration>,
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
    pub window: Option<Option<SendWindow>>,
}

impl ThrottleOverrides {
    /// Deserialize and validate stored settings; errors are named under `throttle`.
    pub fn from_json(json: &str) -> Result<PolicyOverrides, FieldError> {
        let raw: Self = serde_json::from_str(json).map_err(|e| FieldError::new("throttle", e.to_string()))?;
        raw.parse()
    }

    /// Validate: interval and jitter ≤ 1 h, `per_minute` 1..=600, `per_day`
    /// 1..=100,000, window times `HH:MM` and a known IANA zone.
    pub fn parse(&self) -> Result<PolicyOverrides, FieldError> {
        let err = |field: &str, message: String| FieldError::new(field, message).at("throttle");
        let duration = |field: &str, ms: Option<u64>| match ms {
            Some(ms) if ms > MAX_INTERVAL_MS => Err(err(field, format!("must be at most {MAX_INTERVAL_MS} ms (1 h)"))),
            Some(ms) => Ok(Some(Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)))),
            None => Ok(None),
        };
        let bounded = |field: &str, n: Option<u32>, max: u32| match n {
            Some(n) if n == 0 || n > max => Err(err(field, format!("must be between 1 and {max}"))),
            n => Ok(n),
        };
        let window = match &self.window {
            None => None,
            Some(w) if w.start == w.end => Some(None),
            Some(w) => {
                let start = parse_hh_mm(&w.start).ok_or_else(|| err("window.start", "must be HH:MM".into()))?;
                let end = parse_hh_mm(&w.end).ok_or_else(|| err("window.end", "must be HH:MM".into()))?;
                let tz = w
                    .time_zone
                    .parse::<Tz>()
                    .map_err(|_| err("window.time_zone", "must be an IANA time zone such as Asia/Shanghai".into()))?;
                Some(Some(SendWindow { start, end, tz }))
            }
        };
        Ok(PolicyOverrides {
            min_interval: duration("min_interval_ms", self.min_interval_ms)?,
            jitter: duration("jitter_ms", self.jitter_ms)?,
            per_minute: bounded("per_minute", self.per_minute, 600)?,
            per_day: bounded("per_day", self.per_day, 100_000)?,
            window,
        })
    }
}

/// Exactly `HH:MM`, 00:00–23:59.
fn parse_hh_mm(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    NaiveTime::from_hms_opt(num(0), num(3), 0)
}
