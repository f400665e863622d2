//! Throttle tests: fixed instants, seeded generator, real zone data.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("test instant").to_utc()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time")
}

fn window(start: NaiveTime, end: NaiveTime, tz: Tz) -> Option<SendWindow> {
    Some(SendWindow { start, end, tz })
}

fn policy(interval_s: i64, jitter_s: i64, per_minute: u32, per_day: u32) -> ThrottlePolicy {
    ThrottlePolicy {
        min_interval: Duration::seconds(interval_s),
        jitter: Duration::seconds(jitter_s),
        per_minute,
        per_day,
        window: None,
    }
}

/// Sends as fast as the rule allows from `start`; returns the send instants.
fn drive(p: &ThrottlePolicy, state: &mut ThrottleState, start: DateTime<Utc>, sends: usize) -> Vec<DateTime<Utc>> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut now = start;
    let mut sent = Vec::new();
    while sent.len() < sends {
        match decide(p, state, now) {
            Decision::SendNow => {
                record_send(p, state, now, &mut rng);
                sent.push(now);
            }
            Decision::WaitUntil(t, _) => {
                assert!(t > now, "wait must move forward");
                now = t;
            }
        }
    }
    sent
}

#[test]
fn defaults_are_the_documented_safe_ones() {
    let p = ThrottlePolicy::default();
    assert_eq!((p.min_interval, p.jitter), (Duration::seconds(3), Duration::seconds(2)));
    assert_eq!((p.per_minute, p.per_day, p.window), (20, 1_000, None));
}

#[test]
fn spacing_is_interval_plus_jitter() {
    let p = policy(3, 2, 600, 100_000);
    let sent = drive(&p, &mut ThrottleState::default(), utc("2024-05-01T08:00:00Z"), 300);
    let gaps: Vec<_> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::seconds(3) && *g <= Duration::seconds(5)), "{gaps:?}");
    let distinct: std::collections::BTreeSet<_> = gaps.iter().collect();
    assert!(distinct.len() > 50, "jitter must vary: {} distinct gaps", distinct.len());
}

#[test]
fn default_policy_stays_under_its_minute_cap() {
    let p = ThrottlePolicy::default();
    let sent = drive(&p, &mut ThrottleState::default(), utc("2024-05-01T08:00:00Z"), 200);
    for (i, t) in sent.iter().enumerate() {
        let in_minute = sent[i..].iter().take_while(|u| **u < *t + Duration::minutes(1)).count();
        assert!(in_minute <= 20);
    }
}

#[test]
fn jitter_is_the_same_for_the_same_seed() {
    let p = policy(3, 2, 600, 100_000);
    let a = drive(&p, &mut ThrottleState::default(), utc("2024-05-01T08:00:00Z"), 20);
    let b = drive(&p, &mut ThrottleState::default(), utc("2024-05-01T08:00:00Z"), 20);
    assert_eq!(a, b);
}

#[test]
fn minute_cap_waits_for_the_window_end() {
    let p = policy(1, 0, 5, 1_000);
    let t0 = utc("2024-05-01T08:00:00Z");
    let mut state = ThrottleState::default();
    drive(&p, &mut state, t0, 5);
    let now = t0 + Duration::seconds(5);
    assert_eq!(decide(&p, &state, now), Decision::WaitUntil(t0 + Duration::minutes(1), Reason::MinuteCap));
    let sent = drive(&p, &mut state, now, 1);
    assert_eq!(sent, [t0 + Duration::minutes(1)]);
    assert_eq!((state.minute_window_start, state.minute_count), (Some(t0 + Duration::minutes(1)), 1));
}

#[test]
fn interval_reason_and_exact_time() {
    let p = policy(3, 0, 20, 1_000);
    let t0 = utc("2024-05-01T08:00:00Z");
    let mut state = ThrottleState::default();
    record_send(&p, &mut state, t0, &mut StdRng::seed_from_u64(1));
    let now = t0 + Duration::seconds(1);
    assert_eq!(decide(&p, &state, now), Decision::WaitUntil(t0 + Duration::seconds(3), Reason::Interval));
    assert_eq!(decide(&p, &state, t0 + Duration::seconds(3)), Decision::SendNow);
}

#[test]
fn tightened_interval_applies_to_stored_state() {
    let t0 = utc("2024-05-01T08:00:00Z");
    let mut state = ThrottleState::default();
    record_send(&policy(1, 0, 20, 1_000), &mut state, t0, &mut StdRng::seed_from_u64(1));
    let stricter = policy(10, 0, 20, 1_000);
    assert_eq!(decide(&stricter, &state, t0), Decision::WaitUntil(t0 + Duration::seconds(10), Reason::Interval));
}

#[test]
fn day_cap_utc_waits_for_utc_midnight() {
    let p = policy(1, 0, 20, 3);
    let mut state = ThrottleState::default();
    drive(&p, &mut state, utc("2024-05-01T23:59:50Z"), 3);
    let now = utc("2024-05-01T23:59:55Z");
    assert_eq!(decide(&p, &state, now), Decision::WaitUntil(utc("2024-05-02T00:00:00Z"), Reason::DayCap));
    drive(&p, &mut state, now, 1);
    assert_eq!((state.day, state.day_count), (Some(utc("2024-05-02T00:00:00Z").date_naive()), 1));
}

#[test]
fn day_cap_with_window_waits_for_next_local_opening() {
    let mut p = policy(1, 0, 20, 2);
    p.window = window(hm(9, 0), hm(18, 0), chrono_tz::Asia::Shanghai);
    let mut state = ThrottleState::default();
    // 16:00 in Shanghai.
    drive(&p, &mut state, utc("2024-05-01T08:00:00Z"), 2);
    let now = utc("2024-05-01T08:00:10Z");
    // Next day 09:00 Shanghai = 01:00 UTC.
    assert_eq!(decide(&p, &state, now), Decision::WaitUntil(utc("2024-05-02T01:00:00Z"), Reason::DayCap));
}

#[test]
fn quota_day_is_local_when_a_window_is_set() {
    let mut p = policy(1, 0, 20, 2);
    p.window = window(hm(0, 0), hm(23, 59), chrono_tz::Asia::Shanghai);
    // 2024-05-01 23:30 Shanghai is still May 1st in UTC terms only until 16:00 UTC.
    let mut state = ThrottleState::default();
    drive(&p, &mut state, utc("2024-05-01T15:00:00Z"), 2);
    assert_eq!(state.day, Some(chrono::NaiveDate::from_ymd_opt(2024, 5, 1).expect("date")));
    // Local midnight (16:00 UTC) resets the count.
    let decision = decide(&p, &state, utc("2024-05-01T15:30:00Z"));
    assert_eq!(decision, Decision::WaitUntil(utc("2024-05-01T16:00:00Z"), Reason::DayCap));
}

#[test]
fn window_wrapping_midnight() {
    let mut p = policy(1, 0, 20, 1_000);
    let tz = chrono_tz::Asia::Shanghai; // UTC+8, no DST
    p.window = window(hm(22, 0), hm(6, 0), tz);
    let state = ThrottleState::default();
    let local = |d: u32, h: u32, m: u32| tz.with_ymd_and_hms(2024, 5, d, h, m, 0).single().expect("local").to_utc();
    assert_eq!(decide(&p, &state, local(1, 12, 0)), Decision::WaitUntil(local(1, 22, 0), Reason::Window));
    assert_eq!(decide(&p, &state, local(1, 22, 0)), Decision::SendNow);
    assert_eq!(decide(&p, &state, local(1, 23, 59)), Decision::SendNow);
    assert_eq!(decide(&p, &state, local(2, 3, 0)), Decision::SendNow);
    assert_eq!(decide(&p, &state, local(2, 6, 0)), Decision::WaitUntil(local(2, 22, 0), Reason::Window));
    assert_eq!(decide(&p, &state, local(2, 5, 59)), Decision::SendNow);
}

#[test]
fn window_opening_moves_with_dst_in_new_york() {
    let mut p = policy(1, 0, 20, 1_000);
    p.window = window(hm(9, 0), hm(17, 0), chrono_tz::America::New_York);
    let state = ThrottleState::default();
    // Sat 2024-03-09 18:00 EST; DST starts Sun 03-10 at 02:00 → 09:00 EDT = 13:00 UTC.
    let decision = decide(&p, &state, utc("2024-03-09T23:00:00Z"));
    assert_eq!(decision, Decision::WaitUntil(utc("2024-03-10T13:00:00Z"), Reason::Window));
    // The day before it was 14:00 UTC.
    let decision = decide(&p, &state, utc("2024-03-08T23:00:00Z"));
    assert_eq!(decision, Decision::WaitUntil(utc("2024-03-09T14:00:00Z"), Reason::Window));
}

#[test]
fn nonexistent_opening_opens_when_the_clock_jumps() {
    let mut p = policy(1, 0, 20, 1_000);
    p.window = window(hm(2, 30), hm(5, 0), chrono_tz::America::New_York);
    // 2024-03-10 01:00 EST = 06:00 UTC; 02:30 does not exist, 03:00 EDT = 07:00 UTC.
    let state = ThrottleState::default();
    assert_eq!(decide(&p, &state, utc("2024-03-10T06:00:00Z")), {
        Decision::WaitUntil(utc("2024-03-10T07:00:00Z"), Reason::Window)
    });
    // A window entirely inside the gap is skipped that day: 02:30 EDT on the 11th.
    p.window = window(hm(2, 15), hm(2, 45), chrono_tz::America::New_York);
    assert_eq!(decide(&p, &state, utc("2024-03-10T06:00:00Z")), {
        Decision::WaitUntil(utc("2024-03-11T06:15:00Z"), Reason::Window)
    });
}

#[test]
fn ambiguous_opening_uses_first_occurrence() {
    let mut p = policy(1, 0, 20, 1_000);
    p.window = window(hm(1, 30), hm(1, 45), chrono_tz::America::New_York);
    let state = ThrottleState::default();
    // 2024-11-03 00:00 EDT = 04:00 UTC; first 01:30 is EDT = 05:30 UTC.
    let first = utc("2024-11-03T05:30:00Z");
    assert_eq!(decide(&p, &state, utc("2024-11-03T04:00:00Z")), Decision::WaitUntil(first, Reason::Window));
    // Between the occurrences (01:50 EDT): the second 01:30 (EST) = 06:30 UTC.
    let second = utc("2024-11-03T06:30:00Z");
    assert_eq!(decide(&p, &state, utc("2024-11-03T05:50:00Z")), Decision::WaitUntil(second, Reason::Window));
}

#[test]
fn day_cap_on_a_dst_day_resets_at_local_midnight() {
    let mut p = policy(1, 0, 20, 1);
    p.window = window(hm(20, 0), hm(4, 0), chrono_tz::America::New_York);
    let mut state = ThrottleState::default();
    // Sat 2024-03-09 23:00 EST = 04:00 UTC on the 10th.
    drive(&p, &mut state, utc("2024-03-10T04:00:00Z"), 1);
    // Sunday 00:00 EST = 05:00 UTC, inside the window.
    assert_eq!(decide(&p, &state, utc("2024-03-10T04:10:00Z")), {
        Decision::WaitUntil(utc("2024-03-10T05:00:00Z"), Reason::DayCap)
    });
}

#[test]
fn pause_blocks_and_never_shortens() {
    let p = policy(1, 0, 20, 1_000);
    let t0 = utc("2024-05-01T08:00:00Z");
    let mut state = ThrottleState::default();
    pause(&mut state, t0 + Duration::seconds(30));
    pause(&mut state, t0 + Duration::seconds(10));
    assert_eq!(decide(&p, &state, t0), Decision::WaitUntil(t0 + Duration::seconds(30), Reason::Paused));
    assert_eq!(decide(&p, &state, t0 + Duration::seconds(30)), Decision::SendNow);
}

#[test]
fn pause_into_closed_window_reports_pause_and_waits_for_opening() {
    let mut p = policy(1, 0, 20, 1_000);
    p.window = window(hm(9, 0), hm(18, 0), Tz::UTC);
    let mut state = ThrottleState::default();
    pause(&mut state, utc("2024-05-01T17:59:00Z") + Duration::minutes(5));
    let decision = decide(&p, &state, utc("2024-05-01T17:59:00Z"));
    assert_eq!(decision, Decision::WaitUntil(utc("2024-05-02T09:00:00Z"), Reason::Paused));
}

#[test]
fn state_round_trips_through_json() {
    let p = ThrottlePolicy::default();
    let mut state = ThrottleState::default();
    drive(&p, &mut state, utc("2024-05-01T08:00:00Z"), 3);
    pause(&mut state, utc("2024-05-01T09:00:00Z"));
    let json = serde_json::to_string(&state).expect("serialize");
    assert_eq!(serde_json::from_str::<ThrottleState>(&json).expect("deserialize"), state);
}

#[test]
fn merge_account_over_tenant_over_defaults() {
    let tenant = ThrottleOverrides::from_json(
        r#"{"per_minute": 10, "per_day": 500, "window": {"start": "09:00", "end": "18:00", "time_zone": "Asia/Shanghai"}}"#,
    )
    .expect("tenant");
    let account = ThrottleOverrides::from_json(r#"{"per_minute": 5, "jitter_ms": 500}"#).expect("account");
    let p = ThrottlePolicy::merge(&tenant, &account);
    assert_eq!(p.min_interval, Duration::seconds(3));
    assert_eq!(p.jitter, Duration::milliseconds(500));
    assert_eq!((p.per_minute, p.per_day), (5, 500));
    assert_eq!(p.window, window(hm(9, 0), hm(18, 0), chrono_tz::Asia::Shanghai));
    assert_eq!(ThrottlePolicy::merge(&PolicyOverrides::default(), &PolicyOverrides::default()), {
        ThrottlePolicy::default()
    });
}

#[test]
fn platform_defaults_sit_between_built_in_and_tenant() {
    let platform =
        ThrottleOverrides::from_json(r#"{"min_interval_ms": 1000, "per_minute": 30, "window": {"start": "08:00", "end": "20:00", "time_zone": "UTC"}}"#)
            .expect("platform");
    let tenant = ThrottleOverrides::from_json(r#"{"per_minute": 10}"#).expect("tenant");
    let account = ThrottleOverrides::from_json(r#"{"window": {}}"#).expect("account");
    let p = ThrottlePolicy::merge_over(&platform, &tenant, &account);
    assert_eq!((p.min_interval, p.jitter), (Duration::seconds(1), Duration::seconds(2)));
    assert_eq!((p.per_minute, p.per_day, p.window), (10, 1_000, None));
    let only_platform = ThrottlePolicy::merge_over(&platform, &PolicyOverrides::default(), &PolicyOverrides::default());
    assert_eq!((only_platform.per_minute, only_platform.min_interval), (30, Duration::seconds(1)));
    assert_eq!(only_platform.window, window(hm(8, 0), hm(20, 0), chrono_tz::UTC));
    let none = PolicyOverrides::default();
    assert_eq!(ThrottlePolicy::merge_over(&none, &tenant, &none), ThrottlePolicy::merge(&tenant, &none));
}

#[test]
fn account_can_lift_the_tenant_window() {
    let tenant = ThrottleOverrides::from_json(r#"{"window": {"start": "09:00", "end": "18:00", "time_zone": "UTC"}}"#)
        .expect("tenant");
    let account = ThrottleOverrides::from_json(r#"{"window": {}}"#).expect("account");
    assert_eq!(account.window, Some(None));
    assert_eq!(ThrottlePolicy::merge(&tenant, &account).window, None);
}

#[test]
fn override_errors_name_the_field() {
    let field = |json: &str| ThrottleOverrides::from_json(json).expect_err(json).field;
    assert_eq!(field(r#"{"per_minute": 0}"#), "throttle.per_minute");
    assert_eq!(field(r#"{"per_minute": 601}"#), "throttle.per_minute");
    assert_eq!(field(r#"{"per_day": 100001}"#), "throttle.per_day");
    assert_eq!(field(r#"{"min_interval_ms": 3600001}"#), "throttle.min_interval_ms");
    assert_eq!(field(r#"{"jitter_ms": 3600001}"#), "throttle.jitter_ms");
    let w =
        |s: &str, e: &str, tz: &str| format!(r#"{{"window": {{"start": "{s}", "end": "{e}", "time_zone": "{tz}"}}}}"#);
    assert_eq!(field(&w("9:00", "18:00", "UTC")), "throttle.window.start");
    assert_eq!(field(&w("09:00", "24:00", "UTC")), "throttle.window.end");
    assert_eq!(field(&w("09:00", "18:00", "Mars/Olympus")), "throttle.window.time_zone");
    assert_eq!(field(&w("09:00", "18:00", "")), "throttle.window.time_zone");
    assert_eq!(field(r#"{"per_hour": 5}"#), "throttle");
    assert_eq!(field(r#"{"per_minute": "5"}"#), "throttle");
}

#[test]
fn override_bounds_are_inclusive() {
    let o = ThrottleOverrides::from_json(r#"{"per_minute": 600, "per_day": 100000, "min_interval_ms": 3600000}"#)
        .expect("bounds");
    assert_eq!((o.per_minute, o.per_day, o.min_interval), (Some(600), Some(100_000), Some(Duration::hours(1))));
    let zero = ThrottleOverrides::from_json(r#"{"min_interval_ms": 0, "jitter_ms": 0}"#).expect("zero");
    assert_eq!((zero.min_interval, zero.jitter), (Some(Duration::zero()), Some(Duration::zero())));
}
