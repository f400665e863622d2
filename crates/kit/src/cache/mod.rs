//! Cache-aside for services: [`Cache`] is the handle they hold.
//!
//! Stores: [`MemoryStore`] (moka, in-process — the whole cache when no Redis is
//! configured, which suits a single replica), [`RedisStore`], and
//! [`LayeredStore`] (L1 in-process in front of Redis, coherent across
//! replicas through pub/sub invalidation).
//!
//! Contract of [`Cache::get_or_load`]:
//! - a hit is answered from the cache; a miss runs the loader (the database);
//! - concurrent misses of one key run one loader and share its value;
//! - a load that raced with an invalidation of its key does not store its
//!   value, since it may predate the write;
//! - cache failures never fail the call and never make it wrong: the loader
//!   answers instead, and the failure is logged (rate-limited).
//!
//! Known bound: the invalidation guard is per process. A fill on replica B
//! that read the database just before replica A's write can still land in
//! Redis after A's DELETE; B undoes it if A's invalidation message reaches it
//! first, otherwise the entry's TTL bounds the staleness. Keep TTLs short for
//! data where that matters, or skip the cache for read-your-write paths.

mod layered;
mod memory;
mod redis;
mod singleflight;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::layered::LayeredStore;
pub use self::memory::MemoryStore;
pub use self::redis::{RedisConnection, RedisStore};
use self::singleflight::{Flights, Generations, Role};
use crate::settings::CacheSettings;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("redis command timed out")]
    Timeout,
    /// Failing fast after a recent connection failure.
    #[error("redis unavailable")]
    Unavailable,
    /// The Redis-backed cache spawns its invalidation subscriber on the current runtime.
    #[error("a Redis cache must be created inside a Tokio runtime")]
    NoRuntime,
    /// Settings that cannot describe a Redis deployment (caught by validation first).
    #[error("cache settings: {0}")]
    Config(&'static str),
    #[error("cache value encoding: {0}")]
    Codec(#[from] serde_json::Error),
}

/// A byte store with per-entry TTL. Keys are bare; stores add their own prefix.
#[async_trait]
pub trait CacheStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, keys: &[String]) -> Result<(), CacheError>;
}

/// Hit/miss counts since the cache was built, for hit-rate reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

impl CacheStats {
    /// Hits over lookups, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }
}

/// The cache handle services use. Cheap to clone (shared).
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn CacheStore>,
    redis: Option<RedisStore>,
    layered: Option<Arc<LayeredStore>>,
    prefix: String,
    /// `cache` label of `cache_requests_total`: the key prefix without its
    /// trailing `:` (`wework:user`), so the all-in-one's caches stay apart.
    name: metrics::SharedString,
    events_prefix: String,
    default_ttl: Duration,
    gens: Arc<Generations>,
    flights: Flights,
    hits: AtomicU64,
    misses: AtomicU64,
    warn: WarnLimiter,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("redis", &self.inner.redis.is_some())
            .field("prefix", &self.inner.prefix)
            .field("default_ttl", &self.inner.default_ttl)
            .finish()
    }
}

impl Cache {
    /// In-process only when `redis_url` is unset; L1 + Redis otherwise (which
    /// must be created inside a Tokio runtime). Does not connect: a service
    /// starts while Redis is down. Fails only on a malformed URL or no runtime.
    pub fn from_settings(settings: &CacheSettings) -> Result<Self, CacheError> {
        let default_ttl = Duration::from_secs(settings.default_ttl_secs);
        let gens = Arc::new(Generations::default());
        let prefix = settings.key_prefix.clone();
        let Some(url) = &settings.redis_url else {
            let store = Arc::new(MemoryStore::new(settings.l1_capacity, default_ttl));
            return Ok(Self::build(store, None, prefix, default_ttl, gens).with_events_prefix(&settings.events_prefix));
        };
        let layered = Arc::new(LayeredStore::with_generations(url, settings, Arc::clone(&gens))?);
        Ok(Self::build(layered.clone(), Some(layered), prefix, default_ttl, gens)
            .with_events_prefix(&settings.events_prefix))
    }

    /// In-process cache of `capacity` entries with default (and maximum) TTL `ttl`.
    pub fn memory(capacity: u64, ttl: Duration) -> Self {
        Self::with_store(Arc::new(MemoryStore::new(capacity, ttl)), ttl)
    }

    /// Over any store (tests, or a custom backend).
    pub fn with_store(store: Arc<dyn CacheStore>, default_ttl: Duration) -> Self {
        Self::build(store, None, String::new(), default_ttl, Arc::default())
    }

    fn build(
        store: Arc<dyn CacheStore>,
        layered: Option<Arc<LayeredStore>>,
        prefix: String,
        default_ttl: Duration,
        gens: Arc<Generations>,
    ) -> Self {
        let name = metrics::SharedString::from(Arc::<str>::from(prefix.trim_end_matches(':')));
        let inner = Inner {
            store,
            name,
            redis: layered.as_ref().map(|l| l.redis().clone()),
            layered,
            prefix,
            events_prefix: crate::settings::DEFAULT_EVENTS_PREFIX.to_owned(),
            default_ttl,
            gens,
            flights: Flights::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            warn: WarnLimiter::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The raw Redis connection, for atomic counters and the like; `None` without Redis.
    pub fn redis(&self) -> Option<RedisConnection> {
        self.inner.redis.as_ref().map(RedisStore::connection)
    }

    /// The Redis store itself, for kit modules that need its client (pub/sub
    /// subscriptions need a connection of their own); `None` without Redis.
    pub(crate) fn redis_store(&self) -> Option<&RedisStore> {
        self.inner.redis.as_ref()
    }

    /// `key` with this cache's Redis prefix, for raw Redis commands.
    pub fn prefixed(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    /// Namespace of live tenant events on Redis (see `CacheSettings::events_prefix`).
    pub fn events_prefix(&self) -> &str {
        &self.inner.events_prefix
    }

    /// Only while building: `inner` is not shared yet.
    fn with_events_prefix(mut self, prefix: &str) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.events_prefix = prefix.to_owned();
        }
        self
    }

    /// True while the in-process L1 is served in front of Redis (its
    /// invalidation subscription is up). Always false without Redis.
    pub fn l1_active(&self) -> bool {
        self.inner.layered.as_ref().is_some_and(|l| l.l1_active())
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats { hits: self.inner.hits.load(Ordering::Relaxed), misses: self.inner.misses.load(Ordering::Relaxed) }
    }

    /// The cached value, or `None` on a miss or any cache error (logged).
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let found = self.lookup(key).await;
        self.count(found.is_some());
        found
    }

    /// Stores `value`; failures are logged, not returned (the cache is optional).
    pub async fn set_json<T: Serialize>(&self, key: &str, value: &T, ttl: Option<Duration>) {
        match serde_json::to_vec(value) {
            Ok(bytes) => {
                if let Err(e) = self.inner.store.set(key, bytes, ttl.unwrap_or(self.inner.default_ttl)).await {
                    self.warn("cache set failed", &e);
                }
            }
            Err(e) => tracing::warn!(error = %e, key, "cache value not serializable"),
        }
    }

    /// Evicts `keys` everywhere (L1 of every replica, Redis). Call after the
    /// database write commits. Loads of these keys already in flight will not
    /// store their values.
    pub async fn invalidate(&self, keys: &[String]) {
        for key in keys {
            self.inner.gens.bump(key);
            self.inner.flights.forget(key);
        }
        if let Err(e) = self.inner.store.delete(keys).await {
            self.warn("cache invalidation failed", &e);
        }
    }

    /// Cache-aside read; see the module docs for the contract.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &str, ttl: Option<Duration>, load: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.lookup::<T>(key).await {
            self.count(true);
            return Ok(value);
        }
        self.count(false);
        let leader = match self.inner.flights.join(key) {
            Role::Leader(leader) => Some(leader),
            Role::Follower(follower) => {
                if let Some(shared) = follower.wait().await
                    && let Some(value) = shared.downcast_ref::<T>()
                {
                    return Ok(value.clone());
                }
                None
            }
        };
        let generation = self.inner.gens.current(key);
        // On error the leader is dropped, releasing followers to load for themselves.
        let value = load().await?;
        if let Some(leader) = &leader {
            leader.share(Arc::new(value.clone()));
        }
        self.store_if_current(key, &value, ttl, generation).await;
        // The flight stays registered until the store is done, so late callers
        // take the shared value instead of starting another load.
        drop(leader);
        Ok(value)
    }

    async fn store_if_current<T: Serialize>(&self, key: &str, value: &T, ttl: Option<Duration>, generation: u64) {
        let gens = &self.inner.gens;
        if gens.current(key) != generation {
            tracing::debug!(key, "load raced with an invalidation; not caching");
            return;
        }
        let bytes = match serde_json::to_vec(value) {
            Ok(bytes) => bytes,
            Err(e) => return tracing::warn!(error = %e, key, "cache value not serializable"),
        };
        if let Err(e) = self.inner.store.set(key, bytes, ttl.unwrap_or(self.inner.default_ttl)).await {
            return self.warn("cache fill failed", &e);
        }
        // An invalidation may have landed while storing: take the value back out.
        if gens.current(key) != generation
            && let Err(e) = self.inner.store.delete(&[key.to_owned()]).await
        {
            self.warn("cache undo of a racing fill failed", &e);
        }
    }

    async fn lookup<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        match self.inner.store.get(key).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(e) => {
                    tracing::warn!(error = %e, key, "undecodable cache entry treated as a miss");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.warn("cache read failed; loading from the source", &e);
                None
            }
        }
    }

    fn count(&self, hit: bool) {
        let (counter, result) = if hit { (&self.inner.hits, "hit") } else { (&self.inner.misses, "miss") };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("cache_requests_total", "cache" => self.inner.name.clone(), "result" => result).increment(1);
    }

    fn warn(&self, what: &str, error: &CacheError) {
        if self.inner.warn.allow() {
            tracing::warn!(%error, "{what}");
        }
    }
}

/// Lets one warning through per interval, so an outage does not flood the logs.
pub(crate) struct WarnLimiter {
    start: Instant,
    /// Milliseconds after `start` of the last warning; `u64::MAX` = never.
    last: AtomicU64,
}

const WARN_EVERY: Duration = Duration::from_secs(10);

impl Default for WarnLimiter {
    fn default() -> Self {
        Self { start: Instant::now(), last: AtomicU64::new(u64::MAX) }
    }
}

impl WarnLimiter {
    pub(crate) fn allow(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        due && self.last.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

#[cfg(test)]
mod tests;
