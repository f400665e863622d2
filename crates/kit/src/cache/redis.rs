//! Redis store: the shared L2 every replica sees. Connects lazily, so a
//! service starts (and answers from its database) while Redis is down; every
//! command is bounded by `redis_timeout_ms`, so a slow Redis costs at most
//! that much per request before the caller falls back to the loader. After a
//! connection failure the store fails fast for [`BREAKER_OPEN`] (a circuit
//! breaker), so an outage costs one timeout per second, not one per request.
//!
//! Two deployments look the same to callers: one Redis (or a primary behind a
//! proxy) and a Redis Cluster (`cache.redis_cluster`, seeds listed comma
//! separated in `redis_url`). Every key the platform uses is touched alone
//! (single-key Lua scripts, GET/SET, a DEL the cluster client splits by slot),
//! so nothing needs hash tags. Pub/sub is the classic kind, which a cluster
//! broadcasts to every node: subscribers connect to any one seed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;

use super::{CacheError, CacheStore};
use crate::settings::{CacheSettings, redis_seeds};

/// Keys are stored as `<prefix><key>`; callers pass the bare key.
#[derive(Clone)]
pub struct RedisStore {
    /// One client per seed node, for pub/sub connections (tried in order).
    subscribers: Arc<[redis::Client]>,
    conn: RedisConnection,
    prefix: String,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

/// The shared connection to a single Redis or to a Redis Cluster. Both
/// reconnect by themselves; commands and scripts run on either unchanged.
#[derive(Clone)]
pub enum RedisConnection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
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
    /// Builds the store without connecting (needs a Tokio runtime). `url` is
    /// one URL, or with `settings.redis_cluster` comma-separated seed URLs.
    /// Fails only on a malformed URL.
    pub fn new(url: &str, settings: &CacheSettings) -> Result<Self, CacheError> {
        let timeout = Duration::from_millis(settings.redis_timeout_ms);
        let seeds = redis_seeds(url);
        let subscribers: Arc<[redis::Client]> =
            seeds.iter().map(|seed| redis::Client::open(*seed)).collect::<Result<Vec<_>, _>>()?.into();
        let conn = if settings.redis_cluster {
            // A redirect (MOVED/ASK while slots migrate) needs a retry or two;
            // the command's own timeout still bounds the whole call.
            let client = ClusterClientBuilder::new(seeds).retries(2).build()?;
            let config = ClusterConfig::new().set_connection_timeout(timeout).set_response_timeout(timeout);
            RedisConnection::Cluster(client.get_pending_async_connection_with_config(config))
        } else {
            let [client] = &subscribers[..] else {
                return Err(CacheError::Config("several Redis URLs need cache.redis_cluster = true"));
            };
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                // Each failed command already triggers a reconnect; retrying inside
                // the manager would only hold requests longer.
                .set_number_of_retries(0);
            RedisConnection::Single(ConnectionManager::new_lazy_with_config(client.clone(), config)?)
        };
        let breaker = Arc::new(Breaker { start: Instant::now(), open_until: AtomicU64::new(0) });
        Ok(Self { subscribers, conn, prefix: settings.key_prefix.clone(), timeout, breaker })
    }

    pub fn prefixed(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared multiplexed connection, for raw commands (counters, locks).
    pub fn connection(&self) -> RedisConnection {
        self.conn.clone()
    }

    /// A pub/sub connection of its own to the first seed that answers: in a
    /// cluster classic pub/sub reaches every node, so any one will do, and a
    /// lost node is replaced by the next on the subscriber's reconnect.
    pub(crate) async fn pubsub(&self) -> Result<redis::aio::PubSub, CacheError> {
        let mut last = CacheError::Unavailable;
        for client in self.subscribers.iter() {
            match tokio::time::timeout(self.timeout, client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => return Ok(pubsub),
                Ok(Err(e)) => last = e.into(),
                Err(_) => last = CacheError::Timeout,
            }
        }
        Err(last)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn several_urls_without_cluster_mode_are_refused() {
        let settings = CacheSettings { redis_url: None, ..CacheSettings::for_service("t") };
        let err = RedisStore::new("redis://127.0.0.1:1,redis://127.0.0.1:2", &settings).expect_err("refused");
        assert!(err.to_string().contains("redis_cluster"), "{err}");
        let cluster = CacheSettings { redis_cluster: true, ..settings };
        assert!(RedisStore::new("redis://127.0.0.1:1,redis://127.0.0.1:2", &cluster).is_ok(), "cluster seeds accepted");
    }
}
