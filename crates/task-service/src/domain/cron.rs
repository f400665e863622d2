//! Cron schedules in IANA time zones, and what to run after downtime.
//!
//! Contract:
//! - An expression has 5 fields (minute precision) or 6 (a leading seconds
//!   field); names (`MON`, `JAN`) and croner's `L`, `#`, `W` are accepted,
//!   nicknames (`@daily`) and a year field are not. An expression that never
//!   fires is refused when parsed.
//! - Slots are evaluated on the wall clock of the schedule's zone (default
//!   `UTC`) and returned in UTC. Across DST, a slot that falls in the
//!   spring-forward gap runs at the first instant after it, and a slot in the
//!   fall-back overlap runs once (croner's rules).
//! - [`due_slot`]: one run per poll at most, however many slots were missed;
//!   [`MissedSlotPolicy::Skip`] drops a slot older than the grace period.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::FieldError;

/// Longest expression (the `cron` column).
pub const MAX_CRON_LEN: usize = 128;

/// A parsed cron expression bound to its time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expr: String,
    tz: Tz,
    cron: Cron,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.tz == other.tz
    }
}

impl Eq for CronSchedule {}

impl CronSchedule {
    /// Parses `expr` (field `cron`) in zone `tz` (field `time_zone`; empty
    /// means `UTC`).
    pub fn parse(expr: &str, tz: &str) -> Result<Self, FieldError> {
        let tz = parse_time_zone(tz)?;
        let expr = expr.trim();
        if expr.is_empty() || expr.len() > MAX_CRON_LEN {
            return Err(FieldError::new("cron", format!("must be 1 to {MAX_CRON_LEN} characters long")));
        }
        let fields = expr.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(FieldError::new("cron", "must have 5 fields, or 6 with leading seconds"));
        }
        let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
        let cron = parser.parse(expr).map_err(|e| FieldError::new("cron", e.to_string()))?;
        let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        let schedule = Self { expr, tz, cron };
        // Any pattern that fires at all fires within 28 years (the calendar
        // repeats), so one lookup from a fixed instant tells the two apart.
        if schedule.next_after(DateTime::UNIX_EPOCH).is_none() {
            return Err(FieldError::new("cron", "never fires"));
        }
        Ok(schedule)
    }

    /// The expression with its whitespace normalised, as stored.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The IANA zone name, as stored.
    pub fn time_zone(&self) -> &str {
        self.tz.name()
    }

    /// The first slot strictly after `t`; `None` only past the year 5000.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner steps whole seconds and keeps sub-second parts, so start from
        // the whole second: a slot after it is at least one second later, so after `t`.
        let start = self.tz.from_utc_datetime(&t.trunc_subsecs(0).naive_utc());
        let next = self.cron.find_next_occurrence(&start, false).ok()?.with_timezone(&Utc);
        (next > t).then_some(next)
    }

    /// The latest slot in `[window_start, now]`, if any — always one that
    /// [`Self::next_after`] would also produce.
    pub fn latest_at_or_before(&self, window_start: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if now < window_start {
            return None;
        }
        let second = chrono::Duration::seconds(1);
        // croner's backward search is one step, but inside a DST gap it answers
        // times the forward search never yields; so it is only a starting point
        // that forward steps confirm.
        let hint = self.tz.from_utc_datetime(&now.trunc_subsecs(0).naive_utc());
        let hint = self.cron.find_previous_occurrence(&hint, true).ok().map(|h| h.with_timezone(&Utc));
        if let Some(slot) = hint.filter(|h| *h >= window_start).and_then(|h| self.last_slot_between(h - second, now)) {
            return Some(slot);
        }
        // No usable hint: look back in doubling steps, never before the window.
        let mut back = second;
        loop {
            let from = now.checked_sub_signed(back).map_or(window_start, |t| t.max(window_start));
            if let Some(slot) = self.last_slot_between(from - second, now) {
                return Some(slot);
            }
            if from == window_start {
                return None;
            }
            back = back * 2;
        }
    }

    /// The last slot in `(after, now]`, stepping forward.
    fn last_slot_between(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut latest = None;
        let mut cursor = after;
        while let Some(next) = self.next_after(cursor).filter(|s| *s <= now) {
            latest = Some(next);
            cursor = next;
        }
        latest
    }
}

/// Parses an IANA zone name; empty means `UTC`.
pub fn parse_time_zone(raw: &str) -> Result<Tz, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Tz::UTC);
    }
    Tz::from_str(raw).map_err(|_| FieldError::new("time_zone", "must be an IANA time zone name, e.g. Asia/Shanghai"))
}

/// What a schedule does with slots that passed while nothing was polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedSlotPolicy {
    /// Run the latest missed slot once, then follow the cron.
    #[default]
    RunOnce,
    /// Run a slot only if it is within the grace period.
    Skip,
}

impl MissedSlotPolicy {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunOnce => "run_once",
            Self::Skip => "skip",
        }
    }

    /// Reads the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "run_once" => Some(Self::RunOnce),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }
}

/// The result of one poll of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotDecision {
    /// The slot to create a task for, if any.
    pub run: Option<DateTime<Utc>>,
    /// When to poll next; `None` when the schedule never fires again.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Decides a poll at `now` of a schedule that was due at `next_run_at`.
///
/// Before `next_run_at` nothing changes. Otherwise the latest slot in
/// `[next_run_at, now]` is the candidate: `RunOnce` runs it (one run however
/// many slots were missed); `Skip` runs it only if `now - slot <= grace`.
/// Either way the next poll is the first slot after `now`.
pub fn due_slot(
    schedule: &CronSchedule,
    next_run_at: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: MissedSlotPolicy,
    grace: Duration,
) -> SlotDecision {
    if now < next_run_at {
        return SlotDecision { run: None, next_run_at: Some(next_run_at) };
    }
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let run = schedule.latest_at_or_before(next_run_at, now).filter(|slot| match policy {
        MissedSlotPolicy::RunOnce => true,
        MissedSlotPolicy::Skip => now - *slot <= grace,
    });
    SlotDecision { run, next_run_at: schedule.next_after(now) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("test timestamp").with_timezone(&Utc)
    }

    fn cron(expr: &str, tz: &str) -> CronSchedule {
        CronSchedule::parse(expr, tz).expect(expr)
    }

    /// The next `n` slots after `from`.
    fn slots(schedule: &CronSchedule, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(schedule.next_after(utc(from)), |t| schedule.next_after(*t)).take(n).collect()
    }

    #[test]
    fn five_or_six_fields_in_a_named_zone() {
        let s = cron("  0   9 * * MON-FRI ", "");
        assert_eq!((s.expr(), s.time_zone()), ("0 9 * * MON-FRI", "UTC"));
        assert_eq!(cron("*/15 * * * * *", "Asia/Shanghai").time_zone(), "Asia/Shanghai");
    }

    #[test]
    fn bad_expressions_name_the_cron_field() {
        let long = format!("0 0 1 1 {}", "1,".repeat(70));
        for bad in ["", "* * * *", "0 0 0 * * * 2030", "@daily", "61 * * * *", "* * 32 * *", "a b c d e", &long] {
            assert_eq!(CronSchedule::parse(bad, "UTC").expect_err(bad).field, "cron", "{bad}");
        }
        let never = CronSchedule::parse("0 0 30 2 *", "UTC").expect_err("Feb 30");
        assert_eq!((never.field.as_str(), never.message.as_str()), ("cron", "never fires"));
        assert!(CronSchedule::parse("0 0 29 2 *", "UTC").is_ok(), "leap days do come");
    }

    #[test]
    fn bad_time_zones_name_the_time_zone_field() {
        for bad in ["Mars/Olympus", "UTC+8", "Shanghai", "+08:00"] {
            assert_eq!(CronSchedule::parse("0 * * * *", bad).expect_err(bad).field, "time_zone", "{bad}");
        }
        assert_eq!(parse_time_zone("  "), Ok(Tz::UTC));
        assert_eq!(parse_time_zone(" Asia/Shanghai "), Ok(Tz::Asia__Shanghai));
    }

    #[test]
    fn next_after_is_strictly_after_even_within_a_second() {
        let s = cron("0 * * * *", "UTC");
        assert_eq!(s.next_after(utc("2025-01-01T10:00:00Z")), Some(utc("2025-01-01T11:00:00Z")));
        assert_eq!(s.next_after(utc("2025-01-01T09:59:59.999Z")), Some(utc("2025-01-01T10:00:00Z")));
        assert_eq!(s.next_after(utc("2025-01-01T10:00:00.5Z")), Some(utc("2025-01-01T11:00:00Z")));
    }

    #[test]
    fn seconds_field_gives_second_precision() {
        let s = cron("*/20 * * * * *", "UTC");
        let got = slots(&s, "2025-01-01T10:00:00Z", 3);
        let want: Vec<_> = ["2025-01-01T10:00:20Z", "2025-01-01T10:00:40Z", "2025-01-01T10:01:00Z"].map(utc).to_vec();
        assert_eq!(got, want);
    }

    #[test]
    fn shanghai_wall_clock_is_utc_plus_eight_all_year() {
        let s = cron("0 9 * * *", "Asia/Shanghai");
        assert_eq!(slots(&s, "2025-01-01T00:00:00Z", 1), vec![utc("2025-01-01T01:00:00Z")]);
        assert_eq!(slots(&s, "2025-07-01T00:00:00Z", 1), vec![utc("2025-07-01T01:00:00Z")]);
    }

    #[test]
    fn new_york_spring_forward_runs_a_skipped_time_right_after_the_gap() {
        // 2025-03-09: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
        let s = cron("30 2 * * *", "America/New_York");
        let got = slots(&s, "2025-03-08T00:00:00Z", 3);
        let want: Vec<_> = ["2025-03-08T07:30:00Z", "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"].map(utc).to_vec();
        assert_eq!(got, want);
        // croner's own backward search says 06:59:59 here; the answer stays a real slot.
        let latest = s.latest_at_or_before(utc("2025-03-01T00:00:00Z"), utc("2025-03-09T07:10:00Z"));
        assert_eq!(latest, Some(utc("2025-03-09T07:00:00Z")));
        let before_gap = s.latest_at_or_before(utc("2025-03-01T00:00:00Z"), utc("2025-03-09T06:59:59Z"));
        assert_eq!(before_gap, Some(utc("2025-03-08T07:30:00Z")));
    }

    #[test]
    fn new_york_fall_back_runs_a_repeated_time_once() {
        // 2025-11-02: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
        let s = cron("30 1 * * *", "America/New_York");
        let got = slots(&s, "2025-11-01T12:00:00Z", 2);
        assert_eq!(got, vec![utc("2025-11-02T05:30:00Z"), utc("2025-11-03T06:30:00Z")]);
        let half_hourly = cron("*/30 * * * *", "America/New_York");
        let latest = half_hourly.latest_at_or_before(utc("2025-11-02T00:00:00Z"), utc("2025-11-02T06:15:00Z"));
        assert_eq!(latest, Some(utc("2025-11-02T05:30:00Z")), "agrees with the forward search");
        assert_eq!(half_hourly.next_after(utc("2025-11-02T05:30:00Z")), Some(utc("2025-11-02T07:00:00Z")));
    }

    #[test]
    fn latest_slot_stays_inside_the_window() {
        let s = cron("0 * * * *", "UTC");
        let now = utc("2025-01-01T10:30:00Z");
        assert_eq!(s.latest_at_or_before(utc("2025-01-01T08:00:00Z"), now), Some(utc("2025-01-01T10:00:00Z")));
        assert_eq!(s.latest_at_or_before(utc("2025-01-01T10:00:00Z"), now), Some(utc("2025-01-01T10:00:00Z")));
        assert_eq!(s.latest_at_or_before(utc("2025-01-01T10:00:01Z"), now), None);
        assert_eq!(s.latest_at_or_before(utc("2025-01-01T11:00:00Z"), now), None, "window after now");
        let rare = cron("0 0 1 1 *", "UTC");
        let latest = rare.latest_at_or_before(utc("2000-01-01T00:00:00Z"), utc("2025-06-01T00:00:00Z"));
        assert_eq!(latest, Some(utc("2025-01-01T00:00:00Z")));
    }

    const GRACE: Duration = Duration::from_secs(60);

    #[test]
    fn nothing_happens_before_the_next_run() {
        let s = cron("0 * * * *", "UTC");
        let next = utc("2025-01-01T10:00:00Z");
        for policy in [MissedSlotPolicy::RunOnce, MissedSlotPolicy::Skip] {
            let d = due_slot(&s, next, utc("2025-01-01T09:59:59Z"), policy, GRACE);
            assert_eq!(d, SlotDecision { run: None, next_run_at: Some(next) });
        }
    }

    #[test]
    fn an_on_time_poll_runs_the_slot_under_both_policies() {
        let s = cron("0 * * * *", "UTC");
        let slot = utc("2025-01-01T10:00:00Z");
        for policy in [MissedSlotPolicy::RunOnce, MissedSlotPolicy::Skip] {
            let d = due_slot(&s, slot, utc("2025-01-01T10:00:05Z"), policy, GRACE);
            assert_eq!(d, SlotDecision { run: Some(slot), next_run_at: Some(utc("2025-01-01T11:00:00Z")) });
        }
    }

    #[test]
    fn after_downtime_run_once_runs_only_the_latest_missed_slot() {
        let s = cron("*/10 * * * *", "UTC");
        // Down from 10:00 to 10:55: six slots (10:00 .. 10:50) were missed.
        let d =
            due_slot(&s, utc("2025-01-01T10:00:00Z"), utc("2025-01-01T10:55:00Z"), MissedSlotPolicy::RunOnce, GRACE);
        assert_eq!(
            d,
            SlotDecision { run: Some(utc("2025-01-01T10:50:00Z")), next_run_at: Some(utc("2025-01-01T11:00:00Z")) }
        );
    }

    #[test]
    fn after_downtime_skip_runs_nothing_unless_the_slot_is_within_grace() {
        let s = cron("*/10 * * * *", "UTC");
        let next = utc("2025-01-01T10:00:00Z");
        let late = due_slot(&s, next, utc("2025-01-01T10:55:00Z"), MissedSlotPolicy::Skip, GRACE);
        assert_eq!(late, SlotDecision { run: None, next_run_at: Some(utc("2025-01-01T11:00:00Z")) });
        let just = due_slot(&s, next, utc("2025-01-01T10:51:00Z"), MissedSlotPolicy::Skip, GRACE);
        assert_eq!(just.run, Some(utc("2025-01-01T10:50:00Z")), "exactly the grace period is still on time");
    }

    #[test]
    fn downtime_across_a_dst_change_runs_a_real_slot_once() {
        let s = cron("30 2 * * *", "America/New_York");
        // Last ran 2025-03-08 02:30 EST; back at 2025-03-10 12:00 UTC.
        let d =
            due_slot(&s, utc("2025-03-09T07:00:00Z"), utc("2025-03-10T12:00:00Z"), MissedSlotPolicy::RunOnce, GRACE);
        assert_eq!(
            d,
            SlotDecision { run: Some(utc("2025-03-10T06:30:00Z")), next_run_at: Some(utc("2025-03-11T06:30:00Z")) }
        );
    }

    #[test]
    fn policies_round_trip_their_stored_names() {
        for p in [MissedSlotPolicy::RunOnce, MissedSlotPolicy::Skip] {
            assert_eq!(MissedSlotPolicy::from_stored(p.as_str()), Some(p));
        }
        assert_eq!(MissedSlotPolicy::from_stored("never"), None);
    }
}
