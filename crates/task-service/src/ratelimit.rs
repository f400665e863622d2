//! Delivery rate limits: per business system (deliveries per second across
//! all replicas) and per destination host (concurrent requests per replica).
//!
//! Contract:
//! - [`RateLimiter::check`] is GCRA with rate N/s and a burst of max(1, N):
//!   an idle system may send N at once, then one every 1/N s. An allowed
//!   check consumes its slot; a [`Decision::Wait`] consumes nothing and says
//!   when a slot frees up. Rate 0 is unlimited.
//! - With Redis the state (the theoretical arrival time, in µs — 1/N s is
//!   10 µs at the highest rate) is shared by all replicas through one atomic
//!   Lua script. Without Redis, or while it fails, each replica limits on its
//!   own (so up to N per second per replica); a failure is logged once per
//!   burst and Redis is tried again after [`REDIS_RETRY_AFTER`].
//! - [`HostLimiter`] caps concurrent requests per host so that one slow
//!   receiver cannot take every worker; idle hosts are forgotten.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;

/// How long the in-process limiter answers alone after a Redis failure.
pub const REDIS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Past this many tracked systems, the in-process limiter drops idle ones.
const LOCAL_SWEEP_AT: usize = 1024;

/// The answer to "may this business system deliver now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Not before this long from now.
    Wait(Duration),
}

/// One GCRA step at `now_us` against the stored theoretical arrival time
/// `tat_us` (0 when none): the decision and the TAT to store (unchanged when
/// waiting). Pure, so tests drive it with explicit times; the Lua script in
/// [`RATE_SCRIPT`] is the same arithmetic.
pub fn gcra(tat_us: u64, now_us: u64, rate_per_sec: u32) -> (Decision, u64) {
    if rate_per_sec == 0 {
        return (Decision::Allowed, tat_us);
    }
    let interval = (1_000_000 / u64::from(rate_per_sec)).max(1);
    let burst = u64::from(rate_per_sec.max(1));
    let new_tat = tat_us.max(now_us) + interval;
    let allow_at = new_tat.saturating_sub(burst * interval);
    if allow_at > now_us {
        return (Decision::Wait(Duration::from_micros(allow_at - now_us)), tat_us);
    }
    (Decision::Allowed, new_tat)
}

/// [`gcra`] in Redis. ARGV: now µs, interval µs, burst. Returns
/// `{allowed, wait_us}`. The TAT is written with `%.0f` because Lua would
/// print a number this large in exponent form and lose digits.
pub const RATE_SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0}
"#;

/// Per-business-system delivery rate limit (see the module docs).
pub struct RateLimiter {
    cache: Cache,
    script: redis::Script,
    clock: SharedClock,
    local: Mutex<HashMap<String, u64>>,
    redis_failing: AtomicBool,
    /// µs timestamp before which Redis is not tried again.
    redis_paused_until: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("redis_failing", &self.redis_failing.load(Ordering::Relaxed)).finish()
    }
}

fn micros(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_micros()).unwrap_or(0)
}

impl RateLimiter {
    /// Shares state through the cache's Redis when it has one.
    pub fn new(cache: &Cache, clock: SharedClock) -> Self {
        Self {
            cache: cache.clone(),
            script: redis::Script::new(RATE_SCRIPT),
            clock,
            local: Mutex::new(HashMap::new()),
            redis_failing: AtomicBool::new(false),
            redis_paused_until: AtomicU64::new(0),
        }
    }

    /// Takes a delivery slot of `business_id` at `rate_per_sec` (0 = unlimited).
    pub async fn check(&self, business_id: &str, rate_per_sec: u32) -> Decision {
        if rate_per_sec == 0 {
            return Decision::Allowed;
        }
        let now_us = micros(self.clock.now());
        if let Some(mut conn) = self.cache.redis().filter(|_| now_us >= self.redis_paused_until.load(Ordering::Relaxed))
        {
            let interval = (1_000_000 / u64::from(rate_per_sec)).max(1);
            let key = self.cache.prefixed(&format!("ratelimit:{business_id}"));
            let result: redis::RedisResult<(i64, i64)> =
                self.script.key(key).arg(now_us).arg(interval).arg(rate_per_sec.max(1)).invoke_async(&mut conn).await;
            match result {
                Ok((allowed, wait_us)) => {
                    if self.redis_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("redis rate limiter is back; limits are shared again");
                    }
                    return if allowed == 1 {
                        Decision::Allowed
                    } else {
                        Decision::Wait(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
                    };
                }
                Err(e) => {
                    if !self.redis_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "redis rate limiter failed; limiting per replica until it is back");
                    }
                    let pause = u64::try_from(REDIS_RETRY_AFTER.as_micros()).unwrap_or(u64::MAX);
                    self.redis_paused_until.store(now_us.saturating_add(pause), Ordering::Relaxed);
                }
            }
        }
        self.check_local(business_id, rate_per_sec, now_us)
    }

    fn check_local(&self, business_id: &str, rate_per_sec: u32, now_us: u64) -> Decision {
        let mut tats = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if tats.len() >= LOCAL_SWEEP_AT {
            tats.retain(|_, tat| *tat > now_us);
        }
        let stored = tats.get(business_id).copied().unwrap_or(0);
        let (decision, tat) = gcra(stored, now_us, rate_per_sec);
        if decision == Decision::Allowed {
            tats.insert(business_id.to_owned(), tat);
        }
        decision
    }
}

/// Caps concurrent requests per destination host. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct HostLimiter {
    max_per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// A request slot to one host, released when dropped.
#[derive(Debug)]
pub struct HostPermit {
    permit: Option<OwnedSemaphorePermit>,
    host: String,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl HostLimiter {
    /// `max_per_host` concurrent requests per host; 0 = unlimited.
    pub fn new(max_per_host: usize) -> Self {
        Self { max_per_host: max_per_host.min(Semaphore::MAX_PERMITS), hosts: Arc::default() }
    }

    /// Waits for a slot to `host` (compared case-insensitively; include the
    /// port to limit per host and port). Cancel-safe.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let host = host.to_ascii_lowercase();
        // Declared first so it runs last: a waiter cancelled after the last
        // permit went away must not leave an idle entry behind.
        let _cleanup = ForgetIfIdle { hosts: &self.hosts, host: &host };
        let Some(semaphore) = self.semaphore(&host) else { return self.permit(None, host.clone()) };
        // Never closed, so acquiring cannot fail; if it did, run unlimited.
        let permit = semaphore.acquire_owned().await.ok();
        self.permit(permit, host.clone())
    }

    /// A slot to `host` if one is free now.
    pub fn try_acquire(&self, host: &str) -> Option<HostPermit> {
        let host = host.to_ascii_lowercase();
        let Some(semaphore) = self.semaphore(&host) else { return Some(self.permit(None, host)) };
        // A new entry has free permits, so a refusal means others hold it.
        semaphore.try_acquire_owned().ok().map(|permit| self.permit(Some(permit), host))
    }

    /// Hosts with requests in flight or waiting, for metrics.
    pub fn busy_hosts(&self) -> usize {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn semaphore(&self, host: &str) -> Option<Arc<Semaphore>> {
        if self.max_per_host == 0 {
            return None;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(hosts.entry(host.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host)))))
    }

    fn permit(&self, permit: Option<OwnedSemaphorePermit>, host: String) -> HostPermit {
        HostPermit { permit, host, hosts: Arc::clone(&self.hosts) }
    }
}

/// Drops the host's entry when only the map holds it: every permit and every
/// waiter holds a clone, and clones are taken under the same lock.
fn forget_if_idle(hosts: &Mutex<HashMap<String, Arc<Semaphore>>>, host: &str) {
    let mut hosts = hosts.lock().unwrap_or_else(PoisonError::into_inner);
    if hosts.get(host).is_some_and(|s| Arc::strong_count(s) == 1) {
        hosts.remove(host);
    }
}

struct ForgetIfIdle<'a> {
    hosts: &'a Mutex<HashMap<String, Arc<Semaphore>>>,
    host: &'a str,
}

impl Drop for ForgetIfIdle<'_> {
    fn drop(&mut self) {
        forget_if_idle(self.hosts, self.host);
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        let held = self.permit.take();
        if held.is_some() {
            drop(held);
            forget_if_idle(&self.hosts, &self.host);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use wework_kit::clock::{Clock, ManualClock};

    use super::*;

    const T0: u64 = 1_700_000_000_000_000;

    fn wait_ms(ms: u64) -> Decision {
        Decision::Wait(Duration::from_millis(ms))
    }

    /// Runs `gcra` over `(µs since T0, expected)` steps.
    fn run(rate: u32, steps: &[(u64, Decision)]) {
        let mut tat = 0;
        for (i, (at, want)) in steps.iter().enumerate() {
            let (got, next) = gcra(tat, T0 + at, rate);
            assert_eq!(got, *want, "step {i} at +{at} µs");
            tat = next;
        }
    }

    #[test]
    fn an_idle_system_may_burst_its_rate_then_waits() {
        // 4/s: four at once, the fifth 250 ms later.
        let mut steps: Vec<(u64, Decision)> = (0..4).map(|_| (0, Decision::Allowed)).collect();
        steps.push((0, wait_ms(250)));
        steps.push((100_000, wait_ms(150)));
        steps.push((250_000, Decision::Allowed));
        steps.push((250_000, wait_ms(250)));
        run(4, &steps);
    }

    #[test]
    fn a_steady_stream_at_the_rate_is_always_allowed() {
        let steps: Vec<(u64, Decision)> = (0..50).map(|i| (i * 100_000, Decision::Allowed)).collect();
        run(10, &steps);
        // Twice as fast for 1.95 s: the burst of 10 plus one per 100 ms (19).
        let mut tat = 0;
        let allowed = (0..40).filter(|i| {
            let (d, next) = gcra(tat, T0 + i * 50_000, 10);
            tat = next;
            d == Decision::Allowed
        });
        assert_eq!(allowed.count(), 10 + 19);
    }

    #[test]
    fn rate_one_has_a_burst_of_one_and_zero_is_unlimited() {
        run(1, &[(0, Decision::Allowed), (0, wait_ms(1000)), (999_000, wait_ms(1)), (1_000_000, Decision::Allowed)]);
        assert_eq!(gcra(T0 * 2, T0, 0), (Decision::Allowed, T0 * 2));
    }

    #[test]
    fn a_waiting_answer_consumes_nothing() {
        let (_, tat) = gcra(0, T0, 1);
        assert_eq!(gcra(tat, T0 + 10, 1), (Decision::Wait(Duration::from_micros(999_990)), tat));
    }

    #[test]
    fn the_highest_rate_keeps_microsecond_precision() {
        let (mut tat, mut allowed) = (0, 0);
        for _ in 0..150_000 {
            let (d, next) = gcra(tat, T0, RATE_MAX);
            tat = next;
            allowed += u32::from(d == Decision::Allowed);
        }
        assert_eq!(allowed, RATE_MAX);
        assert_eq!(gcra(tat, T0, RATE_MAX).0, Decision::Wait(Duration::from_micros(10)));
    }

    const RATE_MAX: u32 = 100_000;

    fn clock() -> ManualClock {
        ManualClock::new(Utc.timestamp_micros(T0 as i64).single().expect("valid"))
    }

    /// Drives a limiter and the pure math side by side.
    async fn agrees_with_the_math(limiter: &RateLimiter, clock: &ManualClock) {
        let rate = 3;
        let mut tat = 0;
        for step in 0..40u64 {
            clock.advance(chrono::Duration::milliseconds(i64::try_from(step % 7 * 40).expect("small")));
            let (want, next) = gcra(tat, micros(clock.now()), rate);
            tat = next;
            assert_eq!(limiter.check("biz-1", rate).await, want, "step {step}");
        }
        assert_eq!(limiter.check("biz-2", rate).await, Decision::Allowed, "systems are independent");
        assert_eq!(limiter.check("biz-1", 0).await, Decision::Allowed, "0 = unlimited");
    }

    #[tokio::test]
    async fn the_in_process_limiter_follows_the_math() {
        let clock = clock();
        let limiter = RateLimiter::new(&Cache::memory(10, Duration::from_secs(60)), clock.shared());
        agrees_with_the_math(&limiter, &clock).await;
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_the_in_process_limiter() {
        let mut settings = wework_kit::settings::CacheSettings::for_service("task");
        settings.redis_url = Some("redis://127.0.0.1:1".to_owned());
        let cache = Cache::from_settings(&settings).expect("lazy cache");
        let clock = clock();
        let limiter = RateLimiter::new(&cache, clock.shared());
        agrees_with_the_math(&limiter, &clock).await;
        assert!(limiter.redis_failing.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn redis_shares_the_limit_and_follows_the_math() {
        let settings = wework_kit::testing::cache_settings("task");
        if settings.redis_url.is_none() {
            eprintln!("skipped: set WEWORK_TEST_REDIS_URL to run the Redis rate limiter test");
            return;
        }
        let cache = Cache::from_settings(&settings).expect("cache");
        let clock = clock();
        let limiter = RateLimiter::new(&cache, clock.shared());
        agrees_with_the_math(&limiter, &clock).await;
        assert!(!limiter.redis_failing.load(Ordering::Relaxed), "answers came from Redis");
        // A second replica sees the first one's slots.
        let other = RateLimiter::new(&cache, clock.shared());
        clock.advance(chrono::Duration::seconds(10));
        for _ in 0..3 {
            assert_eq!(limiter.check("biz-3", 3).await, Decision::Allowed);
        }
        assert!(matches!(other.check("biz-3", 3).await, Decision::Wait(_)));
    }

    #[tokio::test]
    async fn hosts_are_capped_independently_and_forgotten_when_idle() {
        let limiter = HostLimiter::new(2);
        let a1 = limiter.acquire("A.example").await;
        let a2 = limiter.try_acquire("a.example").expect("second slot");
        assert!(limiter.try_acquire("a.example").is_none(), "cap of two, case-insensitive");
        let b = limiter.try_acquire("b.example").expect("other host");
        assert_eq!(limiter.busy_hosts(), 2);
        let waiting = limiter.acquire("a.example");
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        drop(a1);
        let a3 = waiting.await;
        drop((a2, a3, b));
        assert_eq!(limiter.busy_hosts(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_nothing_behind() {
        let limiter = HostLimiter::new(1);
        let held = limiter.acquire("a.example").await;
        {
            let waiting = limiter.acquire("a.example");
            tokio::pin!(waiting);
            assert!(futures::poll!(&mut waiting).is_pending());
            // The released slot goes to the waiter, which is then dropped unpolled.
            drop(held);
            assert_eq!(limiter.busy_hosts(), 1);
        }
        assert_eq!(limiter.busy_hosts(), 0);
        let unlimited = HostLimiter::new(0);
        let permits: Vec<_> = (0..100).filter_map(|_| unlimited.try_acquire("a.example")).collect();
        assert_eq!((permits.len(), unlimited.busy_hosts()), (100, 0));
    }
}
