//! Redis store: the shared L2 every replica sees. Connects lazily, so a
//! service starts (and answers from its database) while Redis is down; every
//! command is bounded by `redis_timeout_ms`, so a slow Redis costs at most
//! that much per request before the caller falls back to the loader. After a
//! connection failure the store fails fast for [`BREAKER_OPEN`] (a circuit
//! breaker), so an outage costs one timeout per second, not one per request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{CacheError, CacheStore};
use crate::settings::CacheSettings;

/// Keys are stored as `<prefix><key>`; callers pass the bare key.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

/// How long commands fail fast after a connection failure.
pub const BREAKER_OPEN: Duration = Duration::from_secs(1);

/// Open (failing fast) until a deadline after a connectivity failure.
struct Breaker {
    start: Instant,
    /// Milliseconds after `start` until which commands fail fast.
    open_until: AtomicU64,
}

impl Breaker {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.now() < self.open_until.load(Ordering::Relaxed)
    }

    fn trip(&self) {
        let until = self.now().saturating_add(u64::try_from(BREAKER_OPEN.as_millis()).unwrap_or(1_000));
        self.open_until.store(until, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("RedisStore").field("prefix", &self.prefix).field("timeout", &self.timeout).finish()
    }
}

impl RedisStore {
    /// Builds the store without connecting. Fails only on a malformed URL.
    pub fn new(url: &str, settings: &CacheSettings) -> Result<Self, CacheError> {
        let timeout = Duration::from_millis(settings.redis_timeout_ms);
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Each failed command already triggers a reconnect; retrying inside
            // the manager would only hold requests longer.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let breaker = Arc::new(Breaker { start: Instant::now(), open_until: AtomicU64::new(0) });
        Ok(Self { client, conn, prefix: settings.key_prefix.clone(), timeout, breaker })
    }

    pub fn prefixed(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared multiplexed connection, for raw commands (counters, locks).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn bounded<T>(&self, fut: impl Future<Output = redis::RedisResult<T>>) -> Result<T, CacheError> {
        if self.breaker.is_open() {
            return Err(CacheError::Unavailable);
        }
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() || e.is_timeout() {
                    self.breaker.trip();
                }
                Err(e.into())
            }
            Err(_) => {
                self.breaker.trip();
                Err(CacheError::Timeout)
            }
        }
    }

    /// PUBLISH `payload` on `<prefix><channel>`.
    pub(crate) async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        self.publish_exact(&self.prefixed(channel), payload).await
    }

    /// Publishes on `channel` as given (no key prefix): platform-wide channels.
    pub(crate) async fn publish_exact(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PUBLISH").arg(channel).arg(payload).clone();
        self.bounded(async move { cmd.query_async::<i64>(&mut conn).await }).await.map(|_| ())
    }
}

#[async_trait]
impl CacheStore for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("GET").arg(self.prefixed(key)).clone();
        self.bounded(async move { cmd.query_async::<Option<Vec<u8>>>(&mut conn).await }).await
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("SET").arg(self.prefixed(key)).arg(value).arg("PX").arg(millis).clone();
        self.bounded(async move { cmd.query_async::<()>(&mut conn).await }).await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("DEL");
        for key in keys {
            cmd.arg(self.prefixed(key));
        }
        let mut conn = self.conn.clone();
        self.bounded(async move { cmd.query_async::<i64>(&mut conn).await }).await.map(|_| ())
    }
}
