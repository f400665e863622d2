//! Unit tests of the `Cache` handle over in-process stores. These run on the
//! current-thread runtime, where a task runs without interruption between
//! awaits; tests use that to know every caller has joined a flight before a
//! loader is released (no sleeps).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::*;

/// Counts lookups; optionally never hits (to prove coalescing, not caching), or always fails.
#[derive(Default)]
struct ProbeStore {
    inner: Option<MemoryStore>,
    gets: AtomicUsize,
    sets: AtomicUsize,
    broken: bool,
}

#[async_trait]
impl CacheStore for ProbeStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err(CacheError::Timeout);
        }
        match &self.inner {
            Some(inner) => inner.get(key).await,
            None => Ok(None),
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.sets.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err(CacheError::Timeout);
        }
        match &self.inner {
            Some(inner) => inner.set(key, value, ttl).await,
            None => Ok(()),
        }
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        match &self.inner {
            Some(inner) => inner.delete(keys).await,
            None => Ok(()),
        }
    }
}

async fn until(cond: impl Fn() -> bool) {
    while !cond() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn fifty_concurrent_misses_run_the_loader_once() {
    let store = Arc::new(ProbeStore::default());
    let cache = Cache::with_store(store.clone(), Duration::from_secs(60));
    let loads = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let (cache, loads, store) = (cache.clone(), loads.clone(), store.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load("user:1", None, || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        // Hold the load until every caller has looked up (and so joined).
                        until(|| store.gets.load(Ordering::SeqCst) == 50).await;
                        Ok::<_, std::io::Error>("alice".to_owned())
                    })
                    .await
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.expect("task").expect("loaded"), "alice");
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(store.sets.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats(), CacheStats { hits: 0, misses: 50 });
}

#[tokio::test]
async fn followers_of_a_failed_leader_load_for_themselves() {
    let store = Arc::new(ProbeStore::default());
    let cache = Cache::with_store(store.clone(), Duration::from_secs(60));
    let loads = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (cache, loads, store) = (cache.clone(), loads.clone(), store.clone());
            tokio::spawn(async move {
                cache
                    .get_or_load("k", None, || async move {
                        let n = loads.fetch_add(1, Ordering::SeqCst);
                        if n == 0 {
                            until(|| store.gets.load(Ordering::SeqCst) == 3).await;
                            return Err("database down");
                        }
                        Ok(n)
                    })
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for caller in callers {
        results.push(caller.await.expect("task"));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 3);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
}

#[tokio::test]
async fn a_load_racing_an_invalidation_is_returned_but_not_cached() {
    let cache = Cache::memory(100, Duration::from_secs(60));
    let (started_tx, started_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let racing = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_load("user:1", None, || async move {
                    let _ = started_tx.send(());
                    let _ = release_rx.await;
                    Ok::<_, std::io::Error>("old".to_owned())
                })
                .await
        })
    };
    started_rx.await.expect("load started");
    cache.invalidate(&["user:1".to_owned()]).await;

    // A caller after the invalidation starts its own load rather than joining the stale one.
    let fresh = cache.get_or_load("user:1", None, || async { Ok::<_, std::io::Error>("new".to_owned()) }).await;
    assert_eq!(fresh.expect("loaded"), "new");

    release_tx.send(()).expect("loader waiting");
    assert_eq!(racing.await.expect("task").expect("loaded"), "old");
    assert_eq!(cache.get_json::<String>("user:1").await.as_deref(), Some("new"), "stale value not stored");
}

#[tokio::test]
async fn hits_after_a_fill_and_misses_after_invalidation() {
    let cache = Cache::memory(100, Duration::from_secs(60));
    let load = || async { Ok::<_, std::io::Error>(vec![1, 2, 3]) };
    assert_eq!(cache.get_or_load("k", None, load).await.expect("load"), [1, 2, 3]);
    let never = || async { Err::<Vec<i32>, _>(std::io::Error::other("must not load")) };
    assert_eq!(cache.get_or_load("k", None, never).await.expect("hit"), [1, 2, 3]);
    cache.set_json("j", &"v", Some(Duration::from_secs(5))).await;
    assert_eq!(cache.get_json::<String>("j").await.as_deref(), Some("v"));
    cache.invalidate(&["k".to_owned(), "j".to_owned()]).await;
    assert_eq!(cache.get_json::<String>("j").await, None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (2, 2));
    assert!((stats.hit_rate() - 0.5).abs() < f64::EPSILON);
}

#[tokio::test]
async fn a_broken_store_never_fails_or_skews_a_load() {
    let store = Arc::new(ProbeStore { broken: true, ..ProbeStore::default() });
    let cache = Cache::with_store(store, Duration::from_secs(60));
    for i in 0..3 {
        let got = cache.get_or_load("k", None, || async move { Ok::<_, std::io::Error>(i) }).await;
        assert_eq!(got.expect("loader answers"), i);
    }
    assert_eq!(cache.get_json::<i32>("k").await, None);
}

#[tokio::test]
async fn undecodable_entries_are_misses() {
    let cache = Cache::memory(100, Duration::from_secs(60));
    cache.set_json("k", &"text", None).await;
    assert_eq!(cache.get_json::<u64>("k").await, None);
    let got = cache.get_or_load("k", None, || async { Ok::<u64, std::io::Error>(9) }).await;
    assert_eq!(got.expect("loaded"), 9);
    assert_eq!(cache.get_json::<u64>("k").await, Some(9));
}

#[test]
fn warn_limiter_lets_one_through_per_interval() {
    let limiter = WarnLimiter::default();
    assert!(limiter.allow());
    assert!(!limiter.allow());
}

#[test]
fn hits_and_misses_are_counted_per_cache_name() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let settings = CacheSettings { key_prefix: "wework:user:".into(), ..CacheSettings::default() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let cache = Cache::from_settings(&settings).expect("in-process cache");
            assert_eq!(cache.get_json::<u32>("k").await, None);
            cache.set_json("k", &1u32, None).await;
            assert_eq!(cache.get_json::<u32>("k").await, Some(1));
        });
    });
    let text = handle.render();
    for result in ["hit", "miss"] {
        let line = format!("cache_requests_total{{cache=\"wework:user\",result=\"{result}\"}} 1");
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }
}
