//! Where the per-account throttle state ([`ThrottleState`]) lives, so that
//! every replica sees the same account history: one Redis key per account
//! (under the cache prefix, TTL two days) when the service has Redis, an
//! in-process map otherwise (one replica).
//!
//! Contract: [`ThrottleStore::try_acquire`] decides *and* records a send in
//! one atomic step, so two replicas holding messages of the same account
//! never both get `SendNow` for the same slot. On Redis that is a
//! compare-and-set: read the key, decide, then a small Lua script writes the
//! new state only if the key still holds what was read; a conflict (another
//! replica wrote in between) starts over, a few times, and a send that
//! keeps losing the race waits a moment instead of sending unrecorded.
//! When Redis fails the replica falls back to its own map (logged once):
//! throttling per replica beats not sending at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use wework_kit::cache::{Cache, RedisConnection};

use crate::domain::throttle::{self, Decision, PolicyOverrides, Reason, ThrottlePolicy, ThrottleState};
use crate::settings::ThrottleSettings;

#[cfg(test)]
#[path = "throttle_store_tests.rs"]
mod tests;

/// Writes the new state only if the key still holds what was read (`''`:
/// it did not exist). Returns 1 when written.
const CAS_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

/// An account idle this long starts from a clean state (its day count is
/// over by then anyway).
const KEY_TTL: Duration = Duration::days(2);
/// Compare-and-set attempts before giving up on this round.
const CAS_TRIES: usize = 5;
/// How long a send that lost every compare-and-set waits.
const CONTENDED_WAIT: Duration = Duration::seconds(1);
/// Local entries kept before idle ones are swept.
const LOCAL_SWEEP_AT: usize = 10_000;

/// Handle to the shared throttle state; cheap to clone.
#[derive(Clone)]
pub struct ThrottleStore {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache,
    script: redis::Script,
    local: Mutex<HashMap<String, ThrottleState>>,
    enabled: bool,
    /// The platform defaults, validated when the settings were loaded.
    platform: PolicyOverrides,
    redis_failing: AtomicBool,
}

impl std::fmt::Debug for ThrottleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleStore")
            .field("enabled", &self.inner.enabled)
            .field("redis", &self.inner.cache.redis().is_some())
            .finish_non_exhaustive()
    }
}

/// What one read-modify-write did to a state.
struct Change<R> {
    result: R,
    write: bool,
}

impl ThrottleStore {
    /// Shares state through the cache's Redis when it has one.
    pub fn new(cache: &Cache, settings: &ThrottleSettings) -> Self {
        let platform = settings.defaults.parse().unwrap_or_else(|e| {
            // `Settings::validate` refuses this at startup; only a hand-built Settings gets here.
            tracing::error!(error = %e, "invalid throttle.defaults ignored");
            PolicyOverrides::default()
        });
        Self {
            inner: Arc::new(Inner {
                cache: cache.clone(),
                script: redis::Script::new(CAS_SCRIPT),
                local: Mutex::default(),
                enabled: settings.enabled,
                platform,
                redis_failing: AtomicBool::new(false),
            }),
        }
    }

    /// False only when the operator turned the anti-ban rule off (benchmarks).
    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Built-in defaults → platform defaults → tenant → account.
    pub fn policy(&self, tenant: &PolicyOverrides, account: &PolicyOverrides) -> ThrottlePolicy {
        ThrottlePolicy::merge_over(&self.inner.platform, tenant, account)
    }

    /// May `account` send at `now`? `SendNow` has already been recorded
    /// (interval, minute and day counts), so the caller must attempt the
    /// send (or lose the slot). Disabled throttle: always `SendNow`.
    pub async fn try_acquire<G: Rng + Send>(
        &self,
        account: &str,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
        rng: &mut G,
    ) -> Decision {
        if !self.inner.enabled {
            return Decision::SendNow;
        }
        let changed = self
            .update(account, Some(now), |state| match throttle::decide(policy, state, now) {
                Decision::SendNow => {
                    throttle::record_send(policy, state, now, rng);
                    Change { result: Decision::SendNow, write: true }
                }
                wait => Change { result: wait, write: false },
            })
            .await;
        changed.unwrap_or_else(|| {
            tracing::warn!(account_id = account, "throttle state contended; send deferred");
            Decision::WaitUntil(now + CONTENDED_WAIT, Reason::Interval)
        })
    }

    /// Blocks `account` until `until` (the provider's retry-after). Never
    /// shortens a longer pause.
    pub async fn pause(&self, account: &str, until: DateTime<Utc>) {
        let done = self
            .update(account, None, |state| {
                let before = state.paused_until;
                throttle::pause(state, until);
                Change { result: (), write: state.paused_until != before }
            })
            .await;
        if done.is_none() {
            tracing::warn!(account_id = account, "throttle state contended; provider pause not recorded");
        }
    }

    /// The stored state of `account` (default when none), for inspection.
    pub async fn state(&self, account: &str) -> ThrottleState {
        self.update(account, None, |state| Change { result: state.clone(), write: false }).await.unwrap_or_default()
    }

    /// Read-modify-write of one account's state; `None` when every
    /// compare-and-set lost. `sweep_at`: the time idle local entries are
    /// judged by (only sends sweep).
    async fn update<R>(
        &self,
        account: &str,
        sweep_at: Option<DateTime<Utc>>,
        mut f: impl FnMut(&mut ThrottleState) -> Change<R>,
    ) -> Option<R> {
        if let Some(conn) = self.inner.cache.redis() {
            match self.update_redis(conn, account, &mut f).await {
                Ok(outcome) => {
                    if self.inner.redis_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("redis is back; throttle state is shared again");
                    }
                    return outcome;
                }
                Err(e) => {
                    if !self.inner.redis_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "redis throttle state failed; throttling per replica until it is back");
                    }
                }
            }
        }
        Some(self.update_local(account, sweep_at, f))
    }

    async fn update_redis<R>(
        &self,
        mut conn: RedisConnection,
        account: &str,
        f: &mut impl FnMut(&mut ThrottleState) -> Change<R>,
    ) -> redis::RedisResult<Option<R>> {
        let key = self.inner.cache.prefixed(&format!("throttle:{account}"));
        let ttl_ms = KEY_TTL.num_milliseconds();
        for _ in 0..CAS_TRIES {
            let read: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
            let mut state = match read.as_deref().map(serde_json::from_str::<ThrottleState>) {
                Some(Ok(state)) => state,
                Some(Err(e)) => {
                    tracing::warn!(account_id = account, error = %e, "unreadable throttle state replaced");
                    ThrottleState::default()
                }
                None => ThrottleState::default(),
            };
            let change = f(&mut state);
            if !change.write {
                return Ok(Some(change.result));
            }
            // Plain data always serialises; an empty value would read back as a fresh state.
            let json = serde_json::to_string(&state).unwrap_or_default();
            let written: i64 = self
                .inner
                .script
                .key(&key)
                .arg(read.as_deref().unwrap_or(""))
                .arg(json)
                .arg(ttl_ms)
                .invoke_async(&mut conn)
                .await?;
            if written == 1 {
                return Ok(Some(change.result));
            }
            metrics::counter!("message_throttle_conflicts_total").increment(1);
        }
        Ok(None)
    }

    fn update_local<R>(
        &self,
        account: &str,
        sweep_at: Option<DateTime<Utc>>,
        mut f: impl FnMut(&mut ThrottleState) -> Change<R>,
    ) -> R {
        let mut states = self.inner.local.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(now) = sweep_at
            && states.len() >= LOCAL_SWEEP_AT
        {
            let idle_before = now - KEY_TTL;
            states.retain(|_, s| s.last_sent.max(s.paused_until).is_some_and(|t| t > idle_before));
        }
        let mut state = states.get(account).cloned().unwrap_or_default();
        let change = f(&mut state);
        if change.write {
            states.insert(account.to_owned(), state);
        }
        change.result
    }
}
