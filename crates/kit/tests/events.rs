//! Live tenant events as the gateway and the task service use them: in
//! process (no Redis), over a Redis that is down, and — when
//! `WEWORK_TEST_REDIS_URL` is set — across two caches sharing a key prefix,
//! as two replicas would.

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use wework_kit::cache::Cache;
use wework_kit::clock::ManualClock;
use wework_kit::events::{self, EventEnvelope, EventStream, LiveError, LiveEvents};
use wework_kit::settings::CacheSettings;
use wework_proto::common::Event;

/// Long enough for a Redis round trip on a loaded machine; only reached when a test fails.
const WITHIN: Duration = Duration::from_secs(5);

fn redis_url() -> Option<String> {
    let url = std::env::var("WEWORK_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        // Written to stderr directly (not eprintln!), so the test harness does not swallow it.
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ =
                std::io::stderr().write_all(b"\n!!! events over Redis skipped: WEWORK_TEST_REDIS_URL not set !!!\n\n");
        });
    }
    url
}

fn cluster() -> bool {
    std::env::var("WEWORK_TEST_REDIS_CLUSTER").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn redis_cache(url: &str, prefix: &str) -> Cache {
    let settings = CacheSettings {
        redis_url: Some(url.to_owned()),
        redis_cluster: cluster(),
        key_prefix: prefix.to_owned(),
        events_prefix: format!("{prefix}events:"),
        ..CacheSettings::for_service("test")
    };
    Cache::from_settings(&settings).expect("cache")
}

fn memory_cache() -> Cache {
    Cache::memory(100, Duration::from_secs(60))
}

fn unique(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::now_v7().simple())
}

fn event(tenant_id: &str, subject: &str) -> Event {
    let clock = ManualClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time"));
    EventEnvelope::new("account-service", clock.shared())
        .build(tenant_id, "account.status_changed", subject, json!({ "status": "online", "n": 1 }))
        .expect("event")
}

async fn next(stream: &mut EventStream) -> Event {
    tokio::time::timeout(WITHIN, stream.next()).await.expect("an event in time").expect("stream open")
}

#[tokio::test]
async fn in_process_a_subscriber_receives_its_tenants_events() {
    let live = LiveEvents::from_cache(&memory_cache());
    let tenant = unique("tenant");
    let mut stream = live.subscribe(&tenant).await.expect("subscribe");
    let sent = event(&tenant, "acc_1");
    live.announce(&sent).await;
    assert_eq!(next(&mut stream).await, sent);
}

#[tokio::test]
async fn in_process_announcer_and_subscriber_need_not_share_a_cache() {
    // The all-in-one binary: the task service and the gateway each build their own cache.
    let (announcer, subscriber) = (LiveEvents::from_cache(&memory_cache()), LiveEvents::from_cache(&memory_cache()));
    let tenant = unique("tenant");
    let mut stream = subscriber.subscribe(&tenant).await.expect("subscribe");
    let sent = event(&tenant, "acc_1");
    announcer.announce(&sent).await;
    assert_eq!(next(&mut stream).await, sent);
}

#[tokio::test]
async fn in_process_tenants_do_not_see_each_others_events() {
    let live = LiveEvents::from_cache(&memory_cache());
    let (a, b) = (unique("tenant-a"), unique("tenant-b"));
    let mut stream_a = live.subscribe(&a).await.expect("subscribe a");
    let mut stream_b = live.subscribe(&b).await.expect("subscribe b");
    let (for_a, for_b) = (event(&a, "acc_a"), event(&b, "acc_b"));
    live.announce(&for_a).await;
    live.announce(&for_b).await;
    assert_eq!(next(&mut stream_b).await, for_b, "b's first event is its own, not a's");
    assert_eq!(next(&mut stream_a).await, for_a);
}

#[tokio::test]
async fn a_subscription_needs_a_tenant() {
    let live = LiveEvents::from_cache(&memory_cache());
    assert!(matches!(live.subscribe("").await, Err(LiveError::NoTenant)));
    // Announcing an event without a tenant is dropped, not an error for the caller.
    live.announce(&Event::default()).await;
}

#[tokio::test]
async fn with_redis_down_subscribing_is_unavailable_and_announcing_still_returns() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let settings = CacheSettings {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        redis_timeout_ms: 100,
        ..CacheSettings::for_service("test")
    };
    let live = LiveEvents::from_cache(&Cache::from_settings(&settings).expect("cache"));
    live.announce(&event("t1", "acc_1")).await;
    assert!(matches!(live.subscribe("t1").await, Err(LiveError::Unavailable)));
}

#[tokio::test]
async fn over_redis_replicas_sharing_a_prefix_see_each_others_events_per_tenant() {
    let Some(url) = redis_url() else { return };
    let prefix = format!("wework:test:{}:", uuid::Uuid::now_v7().simple());
    let announcer = LiveEvents::from_cache(&redis_cache(&url, &prefix));
    let subscriber = LiveEvents::from_cache(&redis_cache(&url, &prefix));
    let (a, b) = (unique("tenant-a"), unique("tenant-b"));
    let mut stream_a = subscriber.subscribe(&a).await.expect("subscribe a");
    let mut stream_b = subscriber.subscribe(&b).await.expect("subscribe b");

    let (for_a, for_b) = (event(&a, "acc_a"), event(&b, "acc_b"));
    announcer.announce(&for_a).await;
    announcer.announce(&for_b).await;
    assert_eq!(next(&mut stream_b).await, for_b, "b's first event is its own, not a's");
    assert_eq!(next(&mut stream_a).await, for_a);

    let other_prefix = LiveEvents::from_cache(&redis_cache(&url, &format!("{prefix}other:")));
    let mut elsewhere = other_prefix.subscribe(&a).await.expect("subscribe elsewhere");
    let second = event(&a, "acc_a2");
    announcer.announce(&second).await;
    other_prefix.announce(&event(&a, "acc_other")).await;
    assert_eq!(next(&mut stream_a).await, second);
    assert_eq!(next(&mut elsewhere).await.subject, "acc_other", "another prefix is another deployment");
}

#[tokio::test]
async fn over_redis_the_wire_format_is_the_webhook_json_on_the_tenants_channel() {
    let Some(url) = redis_url() else { return };
    let prefix = format!("wework:test:{}:", uuid::Uuid::now_v7().simple());
    let cache = redis_cache(&url, &prefix);
    let tenant = unique("tenant");
    // On a cluster, listen on the last seed: classic pub/sub reaches every node.
    let node = url.rsplit(',').next().unwrap_or(&url).trim();
    let mut pubsub = redis::Client::open(node).expect("client").get_async_pubsub().await.expect("pubsub");
    pubsub.subscribe(cache.prefixed(&format!("events:{tenant}"))).await.expect("subscribe");

    let sent = event(&tenant, "acc_1");
    LiveEvents::from_cache(&cache).announce(&sent).await;
    let mut messages = pubsub.on_message();
    let message = tokio::time::timeout(WITHIN, messages.next()).await.expect("in time").expect("message");
    let payload: serde_json::Value = serde_json::from_slice(message.get_payload_bytes()).expect("json");
    assert_eq!(payload, events::to_json(&sent));
}

#[tokio::test]
async fn over_redis_services_with_their_own_key_prefixes_share_the_events_namespace() {
    let Some(url) = redis_url() else { return };
    let events = format!("wework:test:{}:events:", uuid::Uuid::now_v7().simple());
    let cache_of = |service: &str| {
        let settings = CacheSettings {
            redis_url: Some(url.clone()),
            redis_cluster: cluster(),
            events_prefix: events.clone(),
            ..CacheSettings::for_service(service)
        };
        Cache::from_settings(&settings).expect("cache")
    };
    // The task center announces; the gateway (another key prefix) streams.
    let task_center = LiveEvents::from_cache(&cache_of("task"));
    let gateway = LiveEvents::from_cache(&cache_of("gateway"));
    let tenant = unique("tenant");
    let mut stream = gateway.subscribe(&tenant).await.expect("subscribe");
    let sent = event(&tenant, "acc_1");
    task_center.announce(&sent).await;
    assert_eq!(next(&mut stream).await, sent);
}

/// Notices and tenant events with the same topic/tenant name stay apart.
async fn notices_travel_apart_from_tenant_events(cache: &Cache, prefix: &str) {
    let tenants = LiveEvents::from_cache(cache);
    let notices = LiveEvents::from_cache_in(cache, prefix);
    let topic = unique("topic");
    let mut tenant_stream = tenants.subscribe(&topic).await.expect("tenant stream");
    let mut notice_stream = notices.subscribe(&topic).await.expect("notice stream");
    notices.announce(&event(&topic, "notice 1")).await;
    tenants.announce(&event(&topic, "tenant event")).await;
    notices.announce(&event(&topic, "notice 2")).await;
    assert_eq!(next(&mut notice_stream).await.subject, "notice 1");
    assert_eq!(next(&mut notice_stream).await.subject, "notice 2", "the notice stream never saw the tenant event");
    assert_eq!(next(&mut tenant_stream).await.subject, "tenant event", "the tenant stream never saw a notice");
}

#[tokio::test]
async fn in_process_notices_travel_apart_from_tenant_events() {
    notices_travel_apart_from_tenant_events(&memory_cache(), &unique("notices:")).await;
}

#[tokio::test]
async fn over_redis_notices_travel_apart_from_tenant_events() {
    let Some(url) = redis_url() else { return };
    let prefix = format!("wework:test:{}:", uuid::Uuid::now_v7().simple());
    notices_travel_apart_from_tenant_events(&redis_cache(&url, &prefix), &format!("{prefix}notices:")).await;
}
