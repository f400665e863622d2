//! Throttle store tests: in-process always; the Redis variant (two stores
//! on separate connections, as two replicas) when `WEWORK_TEST_REDIS_URL`
//! is set.

use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wework_kit::settings::CacheSettings;

use super::*;
use crate::domain::throttle::ThrottleOverrides;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn policy(interval_s: i64, per_minute: u32) -> ThrottlePolicy {
    ThrottlePolicy {
        min_interval: Duration::seconds(interval_s),
        jitter: Duration::zero(),
        per_minute,
        per_day: 1_000,
        window: None,
    }
}

fn settings(enabled: bool) -> ThrottleSettings {
    ThrottleSettings { enabled, ..ThrottleSettings::default() }
}

fn local_store() -> ThrottleStore {
    ThrottleStore::new(&Cache::memory(100, std::time::Duration::from_secs(60)), &settings(true))
}

/// Two stores sharing one Redis namespace (two replicas), or `None` without Redis.
fn redis_stores() -> Option<(ThrottleStore, ThrottleStore)> {
    let cache_settings: CacheSettings = wework_kit::testing::cache_settings("message");
    cache_settings.redis_url.as_ref()?;
    let a = Cache::from_settings(&cache_settings).ok()?;
    let b = Cache::from_settings(&cache_settings).ok()?;
    Some((ThrottleStore::new(&a, &settings(true)), ThrottleStore::new(&b, &settings(true))))
}

async fn spacing_and_caps(a: &ThrottleStore, b: &ThrottleStore) {
    let mut rng = StdRng::seed_from_u64(3);
    let p = policy(3, 2);
    assert_eq!(a.try_acquire("acc", &p, t0(), &mut rng).await, Decision::SendNow);
    // The other replica sees the send at once.
    assert_eq!(
        b.try_acquire("acc", &p, t0() + Duration::seconds(1), &mut rng).await,
        Decision::WaitUntil(t0() + Duration::seconds(3), Reason::Interval)
    );
    assert_eq!(b.try_acquire("acc", &p, t0() + Duration::seconds(3), &mut rng).await, Decision::SendNow);
    // Two sends in this minute: the cap holds until the window closes.
    assert_eq!(
        a.try_acquire("acc", &p, t0() + Duration::seconds(6), &mut rng).await,
        Decision::WaitUntil(t0() + Duration::seconds(60), Reason::MinuteCap)
    );
    assert_eq!(a.try_acquire("acc", &p, t0() + Duration::seconds(60), &mut rng).await, Decision::SendNow);
    // Accounts are independent.
    assert_eq!(a.try_acquire("other", &p, t0() + Duration::seconds(1), &mut rng).await, Decision::SendNow);
    assert_eq!(b.state("acc").await.day_count, 3);
}

async fn pauses(a: &ThrottleStore, b: &ThrottleStore) {
    let mut rng = StdRng::seed_from_u64(4);
    let p = policy(0, 600);
    a.pause("paused", t0() + Duration::seconds(100)).await;
    b.pause("paused", t0() + Duration::seconds(50)).await;
    assert_eq!(
        b.try_acquire("paused", &p, t0() + Duration::seconds(60), &mut rng).await,
        Decision::WaitUntil(t0() + Duration::seconds(100), Reason::Paused),
        "a shorter pause never cuts a longer one short"
    );
    assert_eq!(a.try_acquire("paused", &p, t0() + Duration::seconds(100), &mut rng).await, Decision::SendNow);
}

/// Many contenders for the same slot at the same instant: exactly one sends.
async fn one_winner(stores: &[ThrottleStore]) {
    let p = policy(3, 600);
    let tries = (0..24).map(|i| {
        let store = stores[i % stores.len()].clone();
        let p = p.clone();
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(i as u64);
            store.try_acquire("busy", &p, t0(), &mut rng).await
        })
    });
    let decisions = futures::future::join_all(tries).await;
    let sends = decisions.iter().filter(|d| matches!(d, Ok(Decision::SendNow))).count();
    assert_eq!(sends, 1, "{decisions:?}");
    assert_eq!(stores[0].state("busy").await.day_count, 1);
}

#[tokio::test]
async fn local_store_spaces_caps_and_pauses() {
    let store = local_store();
    spacing_and_caps(&store, &store.clone()).await;
    pauses(&store, &store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_store_has_one_winner_per_slot() {
    one_winner(&[local_store()]).await;
}

#[tokio::test]
async fn redis_store_is_shared_by_replicas() {
    let Some((a, b)) = redis_stores() else { return };
    spacing_and_caps(&a, &b).await;
    pauses(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_has_one_winner_per_slot_across_replicas() {
    let Some((a, b)) = redis_stores() else { return };
    one_winner(&[a, b]).await;
}

#[tokio::test]
async fn disabled_throttle_always_sends() {
    let store = ThrottleStore::new(&Cache::memory(100, std::time::Duration::from_secs(60)), &settings(false));
    let mut rng = StdRng::seed_from_u64(5);
    let p = policy(3600, 1);
    for _ in 0..5 {
        assert_eq!(store.try_acquire("acc", &p, t0(), &mut rng).await, Decision::SendNow);
    }
    assert!(!store.enabled());
}

#[test]
fn policy_layers_platform_tenant_account() {
    let mut s = settings(true);
    s.defaults = ThrottleOverrides { min_interval_ms: Some(1_000), per_minute: Some(30), ..Default::default() };
    let store = ThrottleStore::new(&Cache::memory(10, std::time::Duration::from_secs(60)), &s);
    let tenant = ThrottleOverrides { per_minute: Some(10), ..Default::default() }.parse().unwrap_or_default();
    let account = ThrottleOverrides { jitter_ms: Some(0), ..Default::default() }.parse().unwrap_or_default();
    let p = store.policy(&tenant, &account);
    assert_eq!(
        (p.min_interval, p.jitter, p.per_minute, p.per_day),
        (Duration::seconds(1), Duration::zero(), 10, 1_000)
    );
}
