//! The per-IP token buckets, in process: checked before authentication and
//! without a network hop, so a flood from one address costs next to nothing.
//! Each gateway replica limits on its own (the effective limit behind a load
//! balancer is the per-replica limit times the replicas); the per-principal
//! limit is shared through Redis (`wework_kit::ratelimit`). Idle buckets are
//! forgotten, so memory follows the active clients, not every client seen.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Buckets idle this long are dropped (a fresh bucket is full anyway).
const IDLE: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Many buckets with one rate and burst.
#[derive(Clone)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("per_sec", &self.per_sec).field("burst", &self.burst).finish()
    }
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: moka::sync::Cache::builder().max_capacity(1_000_000).time_to_idle(IDLE).build(),
        }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = self.burst;
        let bucket = self.buckets.get_with_by_ref(key, || Arc::new(Mutex::new(Bucket { tokens: burst, updated: now })));
        let mut b = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_sec).min(self.burst);
        b.updated = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
        }
    }
}

/// Whole seconds for `Retry-After` (at least 1, rounded up).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_the_rate() {
        let limiter = RateLimiter::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("ip", t0).is_ok());
        }
        let wait = limiter.check_at("ip", t0).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        assert!(limiter.check_at("ip", t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.check_at("ip", t0 + Duration::from_millis(500)).is_err());
        // Another key has its own bucket.
        assert!(limiter.check_at("other", t0).is_ok());
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let limiter = RateLimiter::new(100, 2);
        let t0 = Instant::now();
        assert!(limiter.check_at("k", t0).is_ok());
        let later = t0 + Duration::from_secs(60);
        assert!(limiter.check_at("k", later).is_ok());
        assert!(limiter.check_at("k", later).is_ok());
        assert!(limiter.check_at("k", later).is_err());
    }
}
