//! Rate limits every replica shares: the task center's deliveries per
//! business system, the gateway's requests per principal.
//!
//! Contract:
//! - [`SharedRateLimiter::check`] is GCRA with a rate of N/s and a burst: an
//!   idle key may take `burst` at once, then one every 1/N s. An allowed check
//!   consumes its slot; a [`Decision::Wait`] consumes nothing and says when a
//!   slot frees up. Rate 0 is unlimited.
//! - With Redis the state (the theoretical arrival time, in µs — 1/N s is
//!   10 µs at 100,000/s) is shared by all replicas through one atomic
//!   single-key Lua script (so it runs on a Redis Cluster too). Without Redis,
//!   or while it fails, each replica limits on its own (so up to N per second
//!   per replica); a failure is logged once per outage and Redis is tried
//!   again after [`REDIS_RETRY_AFTER`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::cache::Cache;
use crate::clock::SharedClock;

/// How long the in-process limiter answers alone after a Redis failure.
pub const REDIS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Past this many tracked keys, the in-process limiter drops idle ones (and
/// then waits for twice as many, so a large active set is not swept per call).
const LOCAL_SWEEP_AT: usize = 1024;

/// The in-process state: theoretical arrival times by key.
#[derive(Debug)]
struct Local {
    tats: HashMap<String, u64>,
    sweep_at: usize,
}

/// The answer to "may this key act now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Not before this long from now.
    Wait(Duration),
}

/// Sustained requests per second (0 = unlimited) and how many an idle key
/// may take at once (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_sec: u32,
    pub burst: u32,
}

impl Rate {
    /// `per_sec` with a burst of one second's worth.
    pub fn per_sec(per_sec: u32) -> Self {
        Self { per_sec, burst: per_sec }
    }

    fn interval_us(self) -> u64 {
        (1_000_000 / u64::from(self.per_sec.max(1))).max(1)
    }

    fn burst(self) -> u64 {
        u64::from(self.burst.max(1))
    }
}

/// One GCRA step at `now_us` against the stored theoretical arrival time
/// `tat_us` (0 when none): the decision and the TAT to store (unchanged when
/// waiting). Pure, so tests drive it with explicit times; [`RATE_SCRIPT`] is
/// the same arithmetic.
pub fn gcra(tat_us: u64, now_us: u64, rate: Rate) -> (Decision, u64) {
    if rate.per_sec == 0 {
        return (Decision::Allowed, tat_us);
    }
    let interval = rate.interval_us();
    let new_tat = tat_us.max(now_us) + interval;
    let allow_at = new_tat.saturating_sub(rate.burst() * interval);
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

/// Limits keys under one namespace (see the module docs). Keys live in Redis
/// as `<cache prefix><namespace><key>`.
pub struct SharedRateLimiter {
    /// Whose Redis shares the state; `None` limits per replica by choice.
    shared: Option<Cache>,
    namespace: String,
    script: redis::Script,
    clock: SharedClock,
    local: Mutex<Local>,
    redis_failing: AtomicBool,
    /// µs timestamp before which Redis is not tried again.
    redis_paused_until: AtomicU64,
}

impl std::fmt::Debug for SharedRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRateLimiter")
            .field("namespace", &self.namespace)
            .field("redis_failing", &self.redis_failing.load(Ordering::Relaxed))
            .finish()
    }
}

fn micros(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp_micros()).unwrap_or(0)
}

impl SharedRateLimiter {
    /// Shares state through the cache's Redis when it has one.
    pub fn new(cache: &Cache, clock: SharedClock, namespace: &str) -> Self {
        Self { shared: Some(cache.clone()), ..Self::per_replica(clock, namespace) }
    }

    /// Never asks Redis: each replica limits on its own (no round trip).
    pub fn per_replica(clock: SharedClock, namespace: &str) -> Self {
        Self {
            shared: None,
            namespace: namespace.to_owned(),
            script: redis::Script::new(RATE_SCRIPT),
            clock,
            local: Mutex::new(Local { tats: HashMap::new(), sweep_at: LOCAL_SWEEP_AT }),
            redis_failing: AtomicBool::new(false),
            redis_paused_until: AtomicU64::new(0),
        }
    }

    /// Takes a slot of `key` at `rate`.
    pub async fn check(&self, key: &str, rate: Rate) -> Decision {
        if rate.per_sec == 0 {
            return Decision::Allowed;
        }
        let now_us = micros(self.clock.now());
        let redis_due = now_us >= self.redis_paused_until.load(Ordering::Relaxed);
        let shared = self.shared.as_ref().filter(|_| redis_due);
        if let Some((cache, mut conn)) = shared.and_then(|cache| Some((cache, cache.redis()?))) {
            let redis_key = cache.prefixed(&format!("{}{key}", self.namespace));
            let result: redis::RedisResult<(i64, i64)> = self
                .script
                .key(redis_key)
                .arg(now_us)
                .arg(rate.interval_us())
                .arg(rate.burst())
                .invoke_async(&mut conn)
                .await;
            match result {
                Ok((allowed, wait_us)) => {
                    if self.redis_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!(namespace = %self.namespace, "redis rate limiter is back; limits are shared again");
                    }
                    return if allowed == 1 {
                        Decision::Allowed
                    } else {
                        Decision::Wait(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
                    };
                }
                Err(e) => {
                    if !self.redis_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, namespace = %self.namespace,
                            "redis rate limiter failed; limiting per replica until it is back");
                    }
                    let pause = u64::try_from(REDIS_RETRY_AFTER.as_micros()).unwrap_or(u64::MAX);
                    self.redis_paused_until.store(now_us.saturating_add(pause), Ordering::Relaxed);
                }
            }
        }
        self.check_local(key, rate, now_us)
    }

    fn check_local(&self, key: &str, rate: Rate, now_us: u64) -> Decision {
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        if local.tats.len() >= local.sweep_at {
            local.tats.retain(|_, tat| *tat > now_us);
            local.sweep_at = (local.tats.len() * 2).max(LOCAL_SWEEP_AT);
        }
        let stored = local.tats.get(key).copied().unwrap_or(0);
        let (decision, tat) = gcra(stored, now_us, rate);
        if decision == Decision::Allowed {
            local.tats.insert(key.to_owned(), tat);
        }
        decision
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
