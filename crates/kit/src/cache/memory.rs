//! In-process store (moka): the whole cache when no Redis is configured, and
//! the L1 in front of Redis otherwise. Entries expire after their own TTL,
//! capped by the store's maximum; capacity is a number of entries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache as Moka;

use super::{CacheError, CacheStore};

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) bytes: Arc<Vec<u8>>,
    ttl: Duration,
    /// Set by the layered store: the subscription epoch the entry was filled under.
    pub(crate) tag: u64,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Bounded in-process cache with per-entry TTL. Cheap to clone (shared).
#[derive(Clone)]
pub struct MemoryStore {
    entries: Moka<String, Entry>,
    max_ttl: Duration,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("entries", &self.entries.entry_count()).finish()
    }
}

impl MemoryStore {
    /// `capacity` entries at most; no entry lives longer than `max_ttl`.
    pub fn new(capacity: u64, max_ttl: Duration) -> Self {
        let entries = Moka::builder().max_capacity(capacity).expire_after(PerEntryTtl).build();
        Self { entries, max_ttl }
    }

    pub(crate) async fn get_entry(&self, key: &str) -> Option<Entry> {
        self.entries.get(key).await
    }

    pub(crate) async fn set_tagged(&self, key: &str, value: Vec<u8>, ttl: Duration, tag: u64) {
        let entry = Entry { bytes: Arc::new(value), ttl: ttl.min(self.max_ttl), tag };
        self.entries.insert(key.to_owned(), entry).await;
    }

    pub(crate) async fn remove(&self, key: &str) {
        self.entries.invalidate(key).await;
    }

    /// Drops everything, e.g. when invalidations may have been missed.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

#[async_trait]
impl CacheStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.get_entry(key).await.map(|e| e.bytes.as_ref().clone()))
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), CacheError> {
        self.set_tagged(key, value, ttl, 0).await;
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> Result<(), CacheError> {
        for key in keys {
            self.remove(key).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_get_delete_and_clear() {
        let store = MemoryStore::new(100, Duration::from_secs(60));
        assert_eq!(store.get("a").await.expect("ok"), None);
        store.set("a", b"1".to_vec(), Duration::from_secs(10)).await.expect("ok");
        store.set("b", b"2".to_vec(), Duration::from_secs(10)).await.expect("ok");
        assert_eq!(store.get("a").await.expect("ok"), Some(b"1".to_vec()));
        store.delete(&["a".to_owned()]).await.expect("ok");
        assert_eq!(store.get("a").await.expect("ok"), None);
        assert_eq!(store.get("b").await.expect("ok"), Some(b"2".to_vec()));
        store.clear();
        assert_eq!(store.get("b").await.expect("ok"), None);
    }

    #[tokio::test]
    async fn zero_ttl_entries_are_never_served() {
        let store = MemoryStore::new(100, Duration::from_secs(60));
        store.set("z", b"1".to_vec(), Duration::ZERO).await.expect("ok");
        assert_eq!(store.get("z").await.expect("ok"), None);
    }

    #[tokio::test]
    async fn ttl_is_capped_by_the_store_maximum() {
        let store = MemoryStore::new(100, Duration::ZERO);
        store.set("c", b"1".to_vec(), Duration::from_secs(3600)).await.expect("ok");
        assert_eq!(store.get("c").await.expect("ok"), None);
    }
}
