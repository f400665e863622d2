//! GCRA arithmetic with explicit times, and the limiter in process, with an
//! unreachable Redis and (when `WEWORK_TEST_REDIS_URL` is set) shared.

use chrono::TimeZone;

use super::*;
use crate::clock::{Clock, ManualClock};

const T0: u64 = 1_700_000_000_000_000;
const RATE_MAX: u32 = 100_000;

fn wait_ms(ms: u64) -> Decision {
    Decision::Wait(Duration::from_millis(ms))
}

/// Runs `gcra` over `(µs since T0, expected)` steps.
fn run(rate: Rate, steps: &[(u64, Decision)]) {
    let mut tat = 0;
    for (i, (at, want)) in steps.iter().enumerate() {
        let (got, next) = gcra(tat, T0 + at, rate);
        assert_eq!(got, *want, "step {i} at +{at} µs");
        tat = next;
    }
}

#[test]
fn an_idle_key_may_burst_its_rate_then_waits() {
    // 4/s: four at once, the fifth 250 ms later.
    let mut steps: Vec<(u64, Decision)> = (0..4).map(|_| (0, Decision::Allowed)).collect();
    steps.push((0, wait_ms(250)));
    steps.push((100_000, wait_ms(150)));
    steps.push((250_000, Decision::Allowed));
    steps.push((250_000, wait_ms(250)));
    run(Rate::per_sec(4), &steps);
}

#[test]
fn the_burst_is_separate_from_the_rate() {
    // 2/s with a burst of 5: five at once, then one per 500 ms.
    let mut steps: Vec<(u64, Decision)> = (0..5).map(|_| (0, Decision::Allowed)).collect();
    steps.push((0, wait_ms(500)));
    steps.push((500_000, Decision::Allowed));
    steps.push((500_000, wait_ms(500)));
    run(Rate { per_sec: 2, burst: 5 }, &steps);
    // A burst of 0 means 1.
    run(Rate { per_sec: 1, burst: 0 }, &[(0, Decision::Allowed), (0, wait_ms(1000))]);
}

#[test]
fn a_steady_stream_at_the_rate_is_always_allowed() {
    let steps: Vec<(u64, Decision)> = (0..50).map(|i| (i * 100_000, Decision::Allowed)).collect();
    run(Rate::per_sec(10), &steps);
    // Twice as fast for 1.95 s: the burst of 10 plus one per 100 ms (19).
    let mut tat = 0;
    let allowed = (0..40).filter(|i| {
        let (d, next) = gcra(tat, T0 + i * 50_000, Rate::per_sec(10));
        tat = next;
        d == Decision::Allowed
    });
    assert_eq!(allowed.count(), 10 + 19);
}

#[test]
fn rate_one_has_a_burst_of_one_and_zero_is_unlimited() {
    let steps = [(0, Decision::Allowed), (0, wait_ms(1000)), (999_000, wait_ms(1)), (1_000_000, Decision::Allowed)];
    run(Rate::per_sec(1), &steps);
    assert_eq!(gcra(T0 * 2, T0, Rate::per_sec(0)), (Decision::Allowed, T0 * 2));
}

#[test]
fn a_waiting_answer_consumes_nothing() {
    let (_, tat) = gcra(0, T0, Rate::per_sec(1));
    assert_eq!(gcra(tat, T0 + 10, Rate::per_sec(1)), (Decision::Wait(Duration::from_micros(999_990)), tat));
}

#[test]
fn the_highest_rate_keeps_microsecond_precision() {
    let (mut tat, mut allowed) = (0, 0);
    for _ in 0..150_000 {
        let (d, next) = gcra(tat, T0, Rate::per_sec(RATE_MAX));
        tat = next;
        allowed += u32::from(d == Decision::Allowed);
    }
    assert_eq!(allowed, RATE_MAX);
    assert_eq!(gcra(tat, T0, Rate::per_sec(RATE_MAX)).0, Decision::Wait(Duration::from_micros(10)));
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.timestamp_micros(i64::try_from(T0).expect("fits")).single().expect("valid"))
}

/// Drives a limiter and the pure math side by side.
async fn agrees_with_the_math(limiter: &SharedRateLimiter, clock: &ManualClock) {
    let rate = Rate { per_sec: 3, burst: 4 };
    let mut tat = 0;
    for step in 0..40u64 {
        clock.advance(chrono::Duration::milliseconds(i64::try_from(step % 7 * 40).expect("small")));
        let (want, next) = gcra(tat, micros(clock.now()), rate);
        tat = next;
        assert_eq!(limiter.check("key-1", rate).await, want, "step {step}");
    }
    assert_eq!(limiter.check("key-2", rate).await, Decision::Allowed, "keys are independent");
    assert_eq!(limiter.check("key-1", Rate::per_sec(0)).await, Decision::Allowed, "0 = unlimited");
}

#[tokio::test]
async fn the_in_process_limiter_follows_the_math() {
    let (memory_clock, replica_clock) = (clock(), clock());
    let memory = Cache::memory(10, Duration::from_secs(60));
    agrees_with_the_math(&SharedRateLimiter::new(&memory, memory_clock.shared(), "rl:"), &memory_clock).await;
    agrees_with_the_math(&SharedRateLimiter::per_replica(replica_clock.shared(), "rl:"), &replica_clock).await;
}

#[tokio::test]
async fn the_in_process_limiter_forgets_idle_keys_without_sweeping_every_call() {
    let clock = clock();
    let limiter = SharedRateLimiter::new(&Cache::memory(10, Duration::from_secs(60)), clock.shared(), "rl:");
    for i in 0..3_000 {
        assert_eq!(limiter.check(&format!("k{i}"), Rate::per_sec(1)).await, Decision::Allowed);
    }
    let sweep_at = limiter.local.lock().expect("lock").sweep_at;
    assert!(sweep_at >= 2_048, "the active set raised the sweep mark ({sweep_at})");
    clock.advance(chrono::Duration::seconds(5));
    for i in 0..sweep_at {
        limiter.check(&format!("new{i}"), Rate::per_sec(1)).await;
    }
    let tracked = limiter.local.lock().expect("lock").tats.len();
    assert_eq!(tracked, sweep_at, "only the active keys remain: the 3,000 idle ones were dropped");
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_the_in_process_limiter() {
    let mut settings = crate::settings::CacheSettings::for_service("test");
    settings.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let cache = Cache::from_settings(&settings).expect("lazy cache");
    let clock = clock();
    let limiter = SharedRateLimiter::new(&cache, clock.shared(), "rl:");
    agrees_with_the_math(&limiter, &clock).await;
    assert!(limiter.redis_failing.load(Ordering::Relaxed));
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn redis_shares_the_limit_and_follows_the_math() {
    let settings = crate::testing::cache_settings("test");
    if settings.redis_url.is_none() {
        eprintln!("skipped: set WEWORK_TEST_REDIS_URL to run the Redis rate limiter test");
        return;
    }
    let cache = Cache::from_settings(&settings).expect("cache");
    let clock = clock();
    let limiter = SharedRateLimiter::new(&cache, clock.shared(), "rl:");
    agrees_with_the_math(&limiter, &clock).await;
    assert!(!limiter.redis_failing.load(Ordering::Relaxed), "answers came from Redis");
    // A second replica sees the first one's slots.
    let other = SharedRateLimiter::new(&cache, clock.shared(), "rl:");
    clock.advance(chrono::Duration::seconds(10));
    for _ in 0..3 {
        assert_eq!(limiter.check("key-3", Rate::per_sec(3)).await, Decision::Allowed);
    }
    assert!(matches!(other.check("key-3", Rate::per_sec(3)).await, Decision::Wait(_)));
    // Another namespace is another limit.
    let elsewhere = SharedRateLimiter::new(&cache, clock.shared(), "other:");
    assert_eq!(elsewhere.check("key-3", Rate::per_sec(3)).await, Decision::Allowed);
}
