//! Counters tests read to see what the simulator actually did: callbacks
//! sent, failed, dropped and duplicated, sends performed, API calls per path
//! (so a test can see how often a driver retried).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Successful callback POSTs (a duplicated callback counts twice).
    pub callbacks_sent: u64,
    /// Callbacks given up on after the last attempt.
    pub callbacks_failed: u64,
    /// Callbacks skipped by the `drop_callback_rate` fault.
    pub callbacks_dropped: u64,
    /// Callbacks delivered a second time by `duplicate_callback_rate`.
    pub callbacks_duplicated: u64,
    /// Attempts after the first (non-2xx or connection error).
    pub callbacks_retried: u64,
    /// Callbacks of a client that had no notify url at the time.
    pub callbacks_unroutable: u64,
    /// Sends performed (duplicates excluded).
    pub sends: u64,
    /// Sends answered as duplicates of an earlier `client_msg_id`.
    pub duplicate_sends: u64,
    /// API calls per path, counted before faults and auth.
    pub api_calls: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub callbacks_sent: AtomicU64,
    pub callbacks_failed: AtomicU64,
    pub callbacks_dropped: AtomicU64,
    pub callbacks_duplicated: AtomicU64,
    pub callbacks_retried: AtomicU64,
    pub callbacks_unroutable: AtomicU64,
    pub sends: AtomicU64,
    pub duplicate_sends: AtomicU64,
    pub api_calls: Mutex<BTreeMap<String, u64>>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Locks a mutex, taking over a poisoned one: the simulator's state stays
/// usable for the rest of a test even if one handler panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Counters {
    pub fn count_call(&self, path: &str) {
        *lock(&self.api_calls).entry(path.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            callbacks_sent: get(&self.callbacks_sent),
            callbacks_failed: get(&self.callbacks_failed),
            callbacks_dropped: get(&self.callbacks_dropped),
            callbacks_duplicated: get(&self.callbacks_duplicated),
            callbacks_retried: get(&self.callbacks_retried),
            callbacks_unroutable: get(&self.callbacks_unroutable),
            sends: get(&self.sends),
            duplicate_sends: get(&self.duplicate_sends),
            api_calls: lock(&self.api_calls).clone(),
        }
    }
}
