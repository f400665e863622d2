//! L1 (in-process) in front of L2 (Redis), kept coherent across replicas by
//! invalidation messages on the Redis channel `<prefix>invalidate`.
//!
//! Correctness rule: an L1 entry is served only while this replica's
//! subscription to the invalidation channel is up *and* the entry was filled
//! under the current subscription (its epoch). When the subscription drops, any
//! invalidation may have been missed, so L1 is bypassed (and cleared) until it
//! is re-established — reads then go to Redis, or, with Redis down, fail over
//! to the caller's loader. A Redis outage therefore costs latency, never a
//! wrong answer.
//!
//! A failed Redis DELETE (or PUBLISH) is retried in the background with
//! backoff for a bounded time; beyond that the entry's TTL bounds staleness.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::memory::MemoryStore;
use super::redis::RedisStore;
use super::singleflight::Generations;
use super::{CacheError, CacheStore, WarnLimiter};
use crate::settings::CacheSettings;

/// Channel name, appended to the key prefix.
const CHANNEL: &str = "invalidate";
/// How often the subscription is probed, so a silently dead connection is noticed.
const PING_EVERY: Duration = Duration::from_secs(3);
const RETRY_ATTEMPTS: u32 = 6;
const RETRY_FIRST_DELAY: Duration = Duration::from_millis(200);
/// Past this many pending background retries new failures are only logged.
const MAX_PENDING_RETRIES: usize = 1_024;

#[derive(Serialize, Deserialize)]
struct Invalidation {
    /// Sending instance; it already evicted its own L1.
    from: String,
    keys: Vec<String>,
}

/// Whether L1 may be trusted, and under which subscription.
#[derive(Default)]
struct Coherence {
    subscribed: AtomicBool,
    epoch: AtomicU64,
}

impl Coherence {
    fn mark(&self, up: bool, l1: &MemoryStore) {
        self.subscribed.store(false, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        l1.clear();
        if up {
            self.subscribed.store(true, Ordering::SeqCst);
        }
    }

    /// The epoch to tag fills with, or `None` while L1 must not be used.
    fn usable_epoch(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::SeqCst);
        self.subscribed.load(Ordering::SeqCst).then_some(epoch)
    }
}

/// Two-level store. Construct inside a Tokio runtime (it spawns the subscriber).
pub struct LayeredStore {
    l1: MemoryStore,
    l2: RedisStore,
    l1_ttl: Duration,
    coherence: Arc<Coherence>,
    gens: Arc<Generations>,
    instance: String,
    pending_retries: Arc<AtomicUsize>,
    warn: Arc<WarnLimiter>,
    _stop: DropGuard,
}

impl LayeredStore {
    pub fn new(url: &str, settings: &CacheSettings) -> Result<Self, CacheError> {
        Self::with_generations(url, settings, Arc::default())
    }

    pub(crate) fn with_generations(
        url: &str,
        settings: &CacheSettings,
        gens: Arc<Generations>,
    ) -> Result<Self, CacheError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| CacheError::NoRuntime)?;
        let l2 = RedisStore::new(url, settings)?;
        let l1_ttl = Duration::from_secs(settings.l1_ttl_secs);
        let l1 = MemoryStore::new(settings.l1_capacity, l1_ttl);
        let coherence = Arc::new(Coherence::default());
        let instance = crate::crypto::random_token(12);
        let stop = CancellationToken::new();
        let subscriber = Subscriber {
            l2: l2.clone(),
            l1: l1.clone(),
            coherence: Arc::clone(&coherence),
            gens: Arc::clone(&gens),
            instance: instance.clone(),
            stop: stop.clone(),
            warn: WarnLimiter::default(),
        };
        runtime.spawn(subscriber.run());
        Ok(Self {
            l1,
            l2,
            l1_ttl,
            coherence,
            gens,
            instance,
            pending_retries: Arc::default(),
            warn: Arc::default(),
            _stop: stop.drop_guard(),
        })
    }

    pub fn redis(&self) -> &RedisStore {
        &self.l2
    }

    /// True while L1 is being served (the invalidation subscription is up).
    pub fn l1_active(&self) -> bool {
        self.coherence.usable_epoch().is_some()
    }

    fn spawn_retry(&self, keys: Vec<String>, payload: Vec<u8>) {
        if self.pending_retries.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_RETRIES {
            self.pending_retries.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(keys = keys.len(), "cache invalidation retry queue full; TTL bounds staleness");
            return;
        }
        let l2 = self.l2.clone();
        let pending = Arc::clone(&self.pending_retries);
        tokio::spawn(async move {
            let mut delay = RETRY_FIRST_DELAY;
            for attempt in 1..=RETRY_ATTEMPTS {
                tokio::time::sleep(delay).await;
                let done = l2.delete(&keys).await.is_ok() && l2.publish(CHANNEL, &payload).await.is_ok();
                if done {
                    tracing::info!(attempt, "cache invalidation retried successfully");
                    break;
                }
                if attempt == RETRY_ATTEMPTS {
                    tracing::warn!(keys = keys.len(), "cache invalidation gave up; TTL bounds staleness");
                }
                delay *= 2;
            }
            pending.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

#[async_trait]
impl CacheStore for LayeredStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let epoch = self.coherence.usable_epoch();
        if let Some(epoch) = epoch
            && let Some(entry) = self.l1.get_entry(key).await
            && entry.tag == epoch
        {
            return Ok(Some(entry.bytes.as_ref().clone()));
        }
        let generation = self.gens.current(key);
        let value = self.l2.get(key).await?;
        if let (Some(epoch), Some(bytes)) = (epoch, &value) {
            self.l1.set_tagged(key, bytes.clone(), self.l1_ttl, epoch).await;
            // Checked after the fill: an invalidation landing in between either
            // moved the generation (undone here) or evicts the entry itself.
            if self.gens.current(key) != generation {
                self.l1.remove(key).await;
            }
        }
        Ok(value)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let epoch = self.coherence.usable_epoch();
        self.l2.set(key, value.clone(), ttl).await?;
        if let Some(epoch) = epoch {
            self.l1.set_tagged(key, value, ttl.min(self.l1_ttl), epoch).await;
        }
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        for key in keys {
            self.gens.bump(key);
            self.l1.remove(key).await;
        }
        let message = Invalidation { from: self.instance.clone(), keys: keys.to_vec() };
        let payload = serde_json::to_vec(&message)?;
        let result = match self.l2.delete(keys).await {
            Ok(()) => self.l2.publish(CHANNEL, &payload).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            if self.warn.allow() {
                tracing::warn!(error = %e, "cache invalidation failed; retrying in background");
            }
            self.spawn_retry(keys.to_vec(), payload);
        }
        result
    }
}

/// Background task: keeps the invalidation subscription up and applies messages to L1.
struct Subscriber {
    l2: RedisStore,
    l1: MemoryStore,
    coherence: Arc<Coherence>,
    gens: Arc<Generations>,
    instance: String,
    stop: CancellationToken,
    warn: WarnLimiter,
}

impl Subscriber {
    async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        while !self.stop.is_cancelled() {
            match self.connect().await {
                Ok(pubsub) => {
                    self.coherence.mark(true, &self.l1);
                    tracing::debug!("cache invalidation subscription up");
                    backoff = Duration::from_millis(100);
                    self.listen(pubsub).await;
                    self.coherence.mark(false, &self.l1);
                }
                Err(e) => {
                    if self.warn.allow() {
                        tracing::warn!(error = %e, "redis unreachable; in-process cache bypassed");
                    }
                }
            }
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn connect(&self) -> Result<redis::aio::PubSub, CacheError> {
        let timeout = self.l2.timeout();
        let mut pubsub = self.l2.pubsub().await?;
        tokio::time::timeout(timeout, pubsub.subscribe(self.l2.prefixed(CHANNEL)))
            .await
            .map_err(|_| CacheError::Timeout)??;
        Ok(pubsub)
    }

    /// Returns when the connection is lost or the store is dropped.
    async fn listen(&self, pubsub: redis::aio::PubSub) {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.reset();
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                message = stream.next() => match message {
                    Some(message) => self.apply(message.get_payload_bytes()).await,
                    None => {
                        tracing::warn!("cache invalidation subscription lost");
                        return;
                    }
                },
                _ = ping.tick() => {
                    let alive = tokio::time::timeout(self.l2.timeout(), sink.ping::<redis::Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("cache invalidation subscription unresponsive");
                        return;
                    }
                }
            }
        }
    }

    async fn apply(&self, payload: &[u8]) {
        match serde_json::from_slice::<Invalidation>(payload) {
            Ok(message) if message.from == self.instance => {}
            Ok(message) => {
                for key in &message.keys {
                    self.gens.bump(key);
                    self.l1.remove(key).await;
                }
            }
            Err(_) => {
                // Unknown which keys changed: drop everything rather than risk staleness.
                tracing::warn!("malformed cache invalidation message; clearing in-process cache");
                self.l1.clear();
            }
        }
    }
}
