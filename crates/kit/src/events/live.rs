//! Live tenant events, for the gateway's SSE stream: best effort, at most
//! once, never in a publisher's way. The durable path is the webhook (the
//! task center); this stream only spares front ends from polling.
//!
//! Contract:
//! - [`LiveEvents::announce`] never fails its caller and never waits for a
//!   subscriber. Errors are logged (rate-limited) and counted in
//!   `live_events_announce_failures_total`.
//! - A stream from [`LiveEvents::subscribe`] yields the events of its tenant
//!   announced after `subscribe` returned, in the order each announcer sent
//!   them. A subscriber more than [`BUFFER`] events behind skips the oldest
//!   (counted in `live_events_lagged_total`).
//! - With Redis (the cache's), an event is published as its JSON form
//!   ([`super::to_json`]) on `<cache events_prefix><tenant_id>` (platform-wide
//!   `wework:events:` by default, the same in every service), so the
//!   announcer and the subscriber meet whatever their services' key prefixes.
//!   Each `LiveEvents` holds one pattern subscription, opened on its first
//!   `subscribe`, and fans messages out in process. When that subscription
//!   drops, every open stream ends — the client reconnects, and `subscribe`
//!   fails with [`LiveError::Unavailable`] until Redis is back — rather than
//!   go silently quiet over a gap.
//! - Without Redis, announcer and subscribers meet in a process-global
//!   registry: in the all-in-one binary the task service announces and the
//!   gateway receives in the same process.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::{CancellationToken, DropGuard};
use wework_proto::common::Event;

use crate::cache::{Cache, CacheError, RedisStore, WarnLimiter};

/// Events buffered per tenant for a slow subscriber before it skips.
pub const BUFFER: usize = 256;
/// Channel name (after the cache's key prefix), followed by the tenant id.
/// How often the subscription is probed, so a silently dead connection is noticed.
const PING_EVERY: Duration = Duration::from_secs(3);

/// A tenant's live events; ends when the transport is lost.
pub type EventStream = BoxStream<'static, Event>;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The Redis subscription is down; the caller should retry later.
    #[error("live events are unavailable")]
    Unavailable,
    #[error("a tenant id is required")]
    NoTenant,
}

/// Announces and subscribes to tenant events. Cheap to clone.
#[derive(Clone)]
pub struct LiveEvents {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Local(Arc<Registry>),
    Redis(Arc<RedisLive>),
}

impl std::fmt::Debug for LiveEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Local(_) => "in-process",
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("LiveEvents").field("backend", &backend).finish()
    }
}

static LOCAL: LazyLock<Arc<Registry>> = LazyLock::new(Arc::default);

/// In-process registries of [`LiveEvents::from_cache_in`], one per namespace.
static LOCAL_NAMESPACES: LazyLock<Mutex<HashMap<String, Arc<Registry>>>> = LazyLock::new(Mutex::default);

impl LiveEvents {
    /// Over the cache's Redis if it has one, in process otherwise. Connects
    /// nothing yet: a process that only announces never opens a subscription.
    /// Build one per process and clone it: each holds its own subscription.
    pub fn from_cache(cache: &Cache) -> Self {
        Self::with_backend(cache, cache.events_prefix(), || Arc::clone(&LOCAL))
    }

    /// The same transport for platform notices that are not tenant events
    /// (e.g. revoked API keys), on channels `<channel_prefix><topic>`: the
    /// "tenant id" of [`Self::announce`] and [`Self::subscribe`] is the topic.
    /// In process, each namespace has its own registry, so a tenant's
    /// stream never sees these.
    pub fn from_cache_in(cache: &Cache, channel_prefix: &str) -> Self {
        Self::with_backend(cache, channel_prefix, || {
            let mut namespaces = LOCAL_NAMESPACES.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(namespaces.entry(channel_prefix.to_owned()).or_default())
        })
    }

    fn with_backend(cache: &Cache, channel_prefix: &str, local: impl FnOnce() -> Arc<Registry>) -> Self {
        let backend = match cache.redis_store() {
            Some(store) => {
                let stop = CancellationToken::new();
                Backend::Redis(Arc::new(RedisLive {
                    store: store.clone(),
                    channel_prefix: channel_prefix.to_owned(),
                    registry: Arc::default(),
                    up: Arc::new(watch::channel(false).0),
                    relay: OnceLock::new(),
                    stop: stop.clone(),
                    _stop: stop.drop_guard(),
                    warn: WarnLimiter::default(),
                }))
            }
            None => Backend::Local(local()),
        };
        Self { backend }
    }

    /// Sends `event` to the live subscribers of `event.tenant_id`.
    pub async fn announce(&self, event: &Event) {
        if event.tenant_id.is_empty() {
            tracing::warn!(event_id = %event.id, "live event without a tenant not announced");
            metrics::counter!("live_events_announce_failures_total", "reason" => "no_tenant").increment(1);
            return;
        }
        match &self.backend {
            Backend::Local(registry) => registry.send(&event.tenant_id, event),
            Backend::Redis(redis) => redis.publish(event).await,
        }
    }

    /// The live events of `tenant_id` from now on.
    pub async fn subscribe(&self, tenant_id: &str) -> Result<EventStream, LiveError> {
        if tenant_id.is_empty() {
            return Err(LiveError::NoTenant);
        }
        let receiver = match &self.backend {
            Backend::Local(registry) => registry.subscribe(tenant_id),
            Backend::Redis(redis) => redis.subscribe(tenant_id).await?,
        };
        Ok(stream_of(receiver))
    }
}

fn stream_of(receiver: broadcast::Receiver<Event>) -> EventStream {
    futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "live event subscriber lagging; skipped the oldest");
                    metrics::counter!("live_events_lagged_total").increment(skipped);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}

/// Per-tenant broadcast channels of one process (or one Redis relay).
#[derive(Default)]
struct Registry {
    senders: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Event>>> {
        // The map stays consistent even if a holder panicked: every operation is a single insert or remove.
        self.senders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn subscribe(&self, tenant_id: &str) -> broadcast::Receiver<Event> {
        self.lock().entry(tenant_id.to_owned()).or_insert_with(|| broadcast::channel(BUFFER).0).subscribe()
    }

    fn has_subscribers(&self, tenant_id: &str) -> bool {
        self.lock().get(tenant_id).is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Delivers to the tenant's subscribers; forgets a tenant whose
    /// subscribers have all gone, so the map holds only live tenants.
    fn send(&self, tenant_id: &str, event: &Event) {
        let mut senders = self.lock();
        if let Some(tx) = senders.get(tenant_id)
            && tx.send(event.clone()).is_err()
        {
            senders.remove(tenant_id);
        }
    }

    /// Ends every open stream.
    fn close_all(&self) {
        self.lock().clear();
    }
}

/// The Redis transport of one `LiveEvents`.
struct RedisLive {
    /// The cache's store: its command timeout and circuit breaker bound what
    /// an announcement costs while Redis is down.
    store: RedisStore,
    /// `CacheSettings::events_prefix`; the tenant id follows.
    channel_prefix: String,
    registry: Arc<Registry>,
    /// Whether the relay's subscription is up.
    up: Arc<watch::Sender<bool>>,
    relay: OnceLock<()>,
    stop: CancellationToken,
    _stop: DropGuard,
    warn: WarnLimiter,
}

impl RedisLive {
    async fn publish(&self, event: &Event) {
        let payload = super::to_json(event).to_string();
        let channel = format!("{}{}", self.channel_prefix, event.tenant_id);
        if let Err(e) = self.store.publish_exact(&channel, payload.as_bytes()).await {
            metrics::counter!("live_events_announce_failures_total", "reason" => "redis").increment(1);
            if self.warn.allow() {
                tracing::warn!(error = %e, event_id = %event.id, "live event not announced");
            }
        }
    }

    async fn subscribe(&self, tenant_id: &str) -> Result<broadcast::Receiver<Event>, LiveError> {
        self.relay.get_or_init(|| {
            let relay = Relay {
                store: self.store.clone(),
                channel_prefix: self.channel_prefix.clone(),
                timeout: self.store.timeout(),
                registry: Arc::clone(&self.registry),
                up: Arc::clone(&self.up),
                stop: self.stop.clone(),
            };
            tokio::spawn(relay.run());
        });
        let mut up = self.up.subscribe();
        // Long enough for a first connect and PSUBSCRIBE, short enough for an HTTP request to wait.
        let wait = (self.store.timeout() * 3).max(Duration::from_secs(1));
        match tokio::time::timeout(wait, up.wait_for(|up| *up)).await {
            Ok(Ok(_)) => Ok(self.registry.subscribe(tenant_id)),
            _ => Err(LiveError::Unavailable),
        }
    }
}

/// Background task: keeps the pattern subscription up and fans messages out.
struct Relay {
    store: RedisStore,
    channel_prefix: String,
    timeout: Duration,
    registry: Arc<Registry>,
    up: Arc<watch::Sender<bool>>,
    stop: CancellationToken,
}

impl Relay {
    async fn run(self) {
        let warn = WarnLimiter::default();
        let mut backoff = Duration::from_millis(100);
        while !self.stop.is_cancelled() {
            match self.connect().await {
                Ok(pubsub) => {
                    self.up.send_replace(true);
                    tracing::debug!("live events subscription up");
                    backoff = Duration::from_millis(100);
                    self.listen(pubsub).await;
                    self.up.send_replace(false);
                    self.registry.close_all();
                }
                Err(e) => {
                    if warn.allow() {
                        tracing::warn!(error = %e, "redis unreachable; live events unavailable");
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
        let mut pubsub = self.store.pubsub().await?;
        let pattern = format!("{}*", glob_escape(&self.channel_prefix));
        tokio::time::timeout(self.timeout, pubsub.psubscribe(pattern)).await.map_err(|_| CacheError::Timeout)??;
        Ok(pubsub)
    }

    /// Returns when the connection is lost or the `LiveEvents` is dropped.
    async fn listen(&self, pubsub: redis::aio::PubSub) {
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.reset();
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                message = stream.next() => match message {
                    Some(message) => self.forward(message.get_channel_name(), message.get_payload_bytes()),
                    None => {
                        tracing::warn!("live events subscription lost");
                        return;
                    }
                },
                _ = ping.tick() => {
                    let alive = tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        tracing::warn!("live events subscription unresponsive");
                        return;
                    }
                }
            }
        }
    }

    fn forward(&self, channel: &str, payload: &[u8]) {
        let Some(tenant_id) = channel.strip_prefix(&self.channel_prefix) else { return };
        // Most replicas have no subscriber for most tenants: skip the decoding.
        if !self.registry.has_subscribers(tenant_id) {
            return;
        }
        let event = serde_json::from_slice(payload).map_err(|_| super::EventError::Malformed("not JSON"));
        match event.and_then(|json| super::from_json(&json)) {
            Ok(event) => self.registry.send(tenant_id, &event),
            Err(e) => tracing::warn!(error = %e, channel, "malformed live event dropped"),
        }
    }
}

/// `s` with Redis glob metacharacters escaped, so a key prefix matches literally.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_escape_makes_a_prefix_literal() {
        assert_eq!(glob_escape("wework:task:"), "wework:task:");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }

    #[test]
    fn the_registry_forgets_tenants_nobody_listens_to() {
        let registry = Registry::default();
        let receiver = registry.subscribe("t1");
        assert!(registry.has_subscribers("t1"));
        drop(receiver);
        assert!(!registry.has_subscribers("t1"));
        registry.send("t1", &Event::default());
        assert!(registry.lock().is_empty());
    }

    #[tokio::test]
    async fn a_lagging_subscriber_skips_the_oldest_and_the_publisher_never_waits() {
        let registry = Registry::default();
        let mut stream = stream_of(registry.subscribe("t1"));
        for n in 0..BUFFER + 10 {
            registry.send("t1", &Event { id: n.to_string(), ..Event::default() });
        }
        assert_eq!(stream.next().await.map(|e| e.id), Some("10".to_owned()), "the 10 oldest were skipped");
        registry.close_all();
        let rest: Vec<_> = stream.collect().await;
        assert_eq!(rest.len(), BUFFER - 1, "buffered events drain, then the stream ends");
    }
}
