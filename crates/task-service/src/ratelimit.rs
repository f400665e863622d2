//! Delivery rate limits: per business system (deliveries per second across
//! all replicas) and per destination host (concurrent requests per replica).
//!
//! Contract:
//! - [`RateLimiter::check`] is GCRA with rate N/s and a burst of max(1, N),
//!   shared by all replicas through Redis and per replica without it
//!   ([`wework_kit::ratelimit`] has the arithmetic and the fallback).
//! - [`HostLimiter`] caps concurrent requests per host so that one slow
//!   receiver cannot take every worker; idle hosts are forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
pub use wework_kit::ratelimit::Decision;
use wework_kit::ratelimit::{Rate, SharedRateLimiter};

/// Per-business-system delivery rate limit: N/s with a burst of N, shared by
/// every replica through Redis (see [`wework_kit::ratelimit`]).
#[derive(Debug)]
pub struct RateLimiter(SharedRateLimiter);

impl RateLimiter {
    /// Shares state through the cache's Redis when it has one.
    pub fn new(cache: &Cache, clock: SharedClock) -> Self {
        Self(SharedRateLimiter::new(cache, clock, "ratelimit:"))
    }

    /// Takes a delivery slot of `business_id` at `rate_per_sec` (0 = unlimited).
    pub async fn check(&self, business_id: &str, rate_per_sec: u32) -> Decision {
        self.0.check(business_id, Rate::per_sec(rate_per_sec)).await
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
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_business_system_may_burst_its_rate() {
        let clock = wework_kit::clock::ManualClock::new(chrono::Utc::now());
        let limiter = RateLimiter::new(&Cache::memory(10, Duration::from_secs(60)), clock.shared());
        for _ in 0..3 {
            assert_eq!(limiter.check("biz-1", 3).await, Decision::Allowed);
        }
        assert!(matches!(limiter.check("biz-1", 3).await, Decision::Wait(_)));
        assert_eq!(limiter.check("biz-2", 3).await, Decision::Allowed, "systems are independent");
        assert_eq!(limiter.check("biz-1", 0).await, Decision::Allowed, "0 = unlimited");
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
