//! Stampede protection and stale-write protection for cache-aside loads.
//!
//! - [`Flights`]: concurrent misses of one key share one loader run. The
//!   leader publishes its value; followers take it. If the leader fails or is
//!   cancelled, followers learn so and run their own loader (errors are not
//!   shared, so the error type need not be `Clone`).
//! - [`Generations`]: a counter per key (striped, fixed memory) bumped by every
//!   invalidation. A load remembers the generation it started under and does
//!   not store its value if the generation moved, because the value may
//!   predate the write that caused the invalidation.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

/// A finished load's value, type-erased so one map serves every `T`.
pub(crate) type Shared = Arc<dyn Any + Send + Sync>;

type Slot = watch::Receiver<Option<Shared>>;

/// In-flight loads by key.
#[derive(Default)]
pub(crate) struct Flights {
    inner: Arc<Mutex<HashMap<String, Slot>>>,
}

/// What a caller became when it joined a key's flight.
pub(crate) enum Role {
    /// Runs the loader, then calls [`Leader::share`].
    Leader(Leader),
    /// Waits with [`Follower::wait`].
    Follower(Follower),
}

impl Flights {
    pub(crate) fn join(&self, key: &str) -> Role {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = map.get(key) {
            return Role::Follower(Follower { rx: rx.clone() });
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.to_owned(), rx.clone());
        Role::Leader(Leader { tx, rx, key: key.to_owned(), flights: Arc::clone(&self.inner) })
    }

    /// Detaches the key's current flight, so callers arriving after an
    /// invalidation start a fresh load instead of joining one that began before it.
    pub(crate) fn forget(&self, key: &str) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

pub(crate) struct Leader {
    tx: watch::Sender<Option<Shared>>,
    rx: Slot,
    key: String,
    flights: Arc<Mutex<HashMap<String, Slot>>>,
}

impl Leader {
    /// Hands the value to every follower, present and late (until the leader
    /// is dropped). Dropping a leader without calling this (error, panic,
    /// cancellation) releases followers empty-handed.
    pub(crate) fn share(&self, value: Shared) {
        // No receivers left is fine: nobody was waiting.
        let _ = self.tx.send(Some(value));
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        // Only remove our own flight; after `forget` a newer one may own the key.
        if map.get(&self.key).is_some_and(|rx| rx.same_channel(&self.rx)) {
            map.remove(&self.key);
        }
    }
}

pub(crate) struct Follower {
    rx: Slot,
}

impl Follower {
    /// The leader's value, or `None` if the leader gave up without one.
    pub(crate) async fn wait(mut self) -> Option<Shared> {
        let got = self.rx.wait_for(Option::is_some).await.ok()?;
        got.clone()
    }
}

/// Striped per-key generation counters. Two keys sharing a stripe only cause
/// a spurious "changed" (a skipped cache fill), never a stale store.
pub(crate) struct Generations {
    stripes: Box<[AtomicU64]>,
    hasher: RandomState,
}

const STRIPES: usize = 4096;

impl Default for Generations {
    fn default() -> Self {
        Self { stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(), hasher: RandomState::new() }
    }
}

impl Generations {
    fn stripe(&self, key: &str) -> &AtomicU64 {
        let index = usize::try_from(self.hasher.hash_one(key) % STRIPES as u64).unwrap_or_default();
        &self.stripes[index]
    }

    pub(crate) fn current(&self, key: &str) -> u64 {
        self.stripe(key).load(Ordering::SeqCst)
    }

    pub(crate) fn bump(&self, key: &str) {
        self.stripe(key).fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_get_the_leaders_value_or_nothing_if_it_failed() {
        let flights = Flights::default();
        let Role::Leader(leader) = flights.join("k") else { panic!("first caller leads") };
        let Role::Follower(follower) = flights.join("k") else { panic!("second caller follows") };
        leader.share(Arc::new(7u32));
        drop(leader);
        let got = follower.wait().await.expect("value");
        assert_eq!(got.downcast_ref::<u32>(), Some(&7));
        assert!(matches!(flights.join("k"), Role::Leader(_)), "finished flight is gone");

        let Role::Leader(leader) = flights.join("e") else { panic!("leads") };
        let Role::Follower(follower) = flights.join("e") else { panic!("follows") };
        drop(leader);
        assert!(follower.wait().await.is_none());
    }

    #[test]
    fn forget_detaches_a_flight_without_the_old_leader_removing_the_new_one() {
        let flights = Flights::default();
        let Role::Leader(old) = flights.join("k") else { panic!("leads") };
        flights.forget("k");
        let Role::Leader(_new) = flights.join("k") else { panic!("fresh flight after forget") };
        drop(old);
        assert!(matches!(flights.join("k"), Role::Follower(_)), "new flight still registered");
    }

    #[test]
    fn generations_move_on_bump() {
        let g = Generations::default();
        let before = g.current("a");
        g.bump("a");
        assert_ne!(before, g.current("a"));
    }
}
