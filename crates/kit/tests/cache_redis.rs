//! The Redis-backed cache against a real Redis. Runs only when
//! `WEWORK_TEST_REDIS_URL` is set (e.g. `redis://127.0.0.1:6379`); every test
//! uses its own key prefix, so runs never see each other's keys. With
//! `WEWORK_TEST_REDIS_CLUSTER=1` the URL lists a Redis Cluster's seeds.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use wework_kit::cache::Cache;
use wework_kit::settings::CacheSettings;

fn redis_url() -> Option<String> {
    let url = std::env::var("WEWORK_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        // Written to stderr directly (not eprintln!), so the test harness does not swallow it.
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = std::io::stderr().write_all(b"\n!!! cache_redis skipped: WEWORK_TEST_REDIS_URL not set !!!\n\n");
        });
    }
    url
}

fn cluster() -> bool {
    std::env::var("WEWORK_TEST_REDIS_CLUSTER").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn settings(url: &str, prefix: &str) -> CacheSettings {
    CacheSettings {
        redis_url: Some(url.to_owned()),
        redis_cluster: cluster(),
        key_prefix: prefix.to_owned(),
        l1_ttl_secs: 60,
        ..CacheSettings::for_service("test")
    }
}

fn unique_prefix() -> String {
    format!("wework:test:{}:", uuid::Uuid::now_v7().simple())
}

/// Polls `check` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn set_get_and_invalidate_through_redis() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let cache = Cache::from_settings(&settings(&url, &prefix)).expect("cache");
    cache.set_json("user:1", &"alice", None).await;
    assert_eq!(cache.get_json::<String>("user:1").await.as_deref(), Some("alice"));

    let mut redis = cache.redis().expect("redis configured");
    let raw: Option<String> =
        redis::cmd("GET").arg(cache.prefixed("user:1")).query_async(&mut redis).await.expect("GET");
    assert_eq!(raw.as_deref(), Some("\"alice\""), "stored under the prefix as JSON");

    cache.invalidate(&["user:1".to_owned()]).await;
    assert_eq!(cache.get_json::<String>("user:1").await, None);
    let loaded = cache.get_or_load("user:1", None, || async { Ok::<_, std::io::Error>("bob".to_owned()) }).await;
    assert_eq!(loaded.expect("loaded"), "bob");
    assert_eq!(cache.get_json::<String>("user:1").await.as_deref(), Some("bob"));
}

#[tokio::test]
async fn an_invalidation_evicts_other_instances_l1() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let writer = Cache::from_settings(&settings(&url, &prefix)).expect("cache");
    let reader = Cache::from_settings(&settings(&url, &prefix)).expect("cache");
    eventually(Duration::from_secs(5), "both subscribed", || async { writer.l1_active() && reader.l1_active() }).await;

    let got = reader.get_or_load("tenant:1", None, || async { Ok::<_, std::io::Error>(1u32) }).await;
    assert_eq!(got.expect("loaded"), 1);
    // Remove it from Redis behind the cache's back: the reader still answers from its L1.
    let mut redis = reader.redis().expect("redis");
    let _: i64 = redis::cmd("DEL").arg(reader.prefixed("tenant:1")).query_async(&mut redis).await.expect("DEL");
    assert_eq!(reader.get_json::<u32>("tenant:1").await, Some(1), "served from L1");

    writer.invalidate(&["tenant:1".to_owned()]).await;
    eventually(Duration::from_secs(5), "reader's L1 evicted", || async {
        reader.get_json::<u32>("tenant:1").await.is_none()
    })
    .await;
}

#[tokio::test]
async fn with_redis_down_every_read_comes_from_the_loader_quickly() {
    let Some(_) = redis_url() else { return };
    let cache = Cache::from_settings(&settings("redis://127.0.0.1:1", &unique_prefix())).expect("lazy, no connect");
    let started = Instant::now();
    for i in 0..20u32 {
        let call = Instant::now();
        let got = cache.get_or_load("k", None, || async move { Ok::<_, std::io::Error>(i) }).await;
        assert_eq!(got.expect("loader answers"), i, "never a cached (possibly stale) value");
        assert!(call.elapsed() < Duration::from_secs(2), "call {i} took {:?}", call.elapsed());
    }
    cache.invalidate(&["k".to_owned()]).await;
    assert!(!cache.l1_active());
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    eprintln!("20 loads with redis down took {:?}", started.elapsed());
}

#[tokio::test]
async fn on_a_cluster_keys_spread_over_the_shards_and_invalidate_together() {
    let Some(url) = redis_url() else { return };
    if !cluster() {
        return;
    }
    let prefix = unique_prefix();
    let cache = Cache::from_settings(&settings(&url, &prefix)).expect("cache");
    let keys: Vec<String> = (0..50).map(|i| format!("account:{i}")).collect();
    for key in &keys {
        cache.set_json(key, key, None).await;
    }
    // Ask every seed node directly which of the keys it holds: a node that does
    // not own a key's slot answers MOVED, so only owners count.
    let mut holders = 0;
    let mut held = 0;
    for seed in url.split(',').map(str::trim) {
        let mut node =
            redis::Client::open(seed).expect("seed url").get_multiplexed_async_connection().await.expect("node");
        let mut here = 0;
        for key in &keys {
            let exists: redis::RedisResult<i64> =
                redis::cmd("EXISTS").arg(cache.prefixed(key)).query_async(&mut node).await;
            here += exists.unwrap_or(0);
        }
        holders += i64::from(here > 0);
        held += here;
    }
    assert_eq!(held, 50, "every key stored exactly once across the shards");
    assert!(holders >= 2, "keys spread over the shards, not one node ({holders})");

    // One invalidation deletes keys of many slots (the client splits the DEL).
    cache.invalidate(&keys).await;
    let mut redis = cache.redis().expect("redis");
    for key in &keys {
        let raw: Option<String> =
            redis::cmd("GET").arg(cache.prefixed(key)).query_async(&mut redis).await.expect("GET");
        assert_eq!(raw, None, "{key} deleted");
    }
}
