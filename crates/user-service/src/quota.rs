//! Tenant daily-message quota counters. With Redis, one atomic Lua script
//! (INCRBY unless it would pass the limit, expiring at the end of the UTC day);
//! without Redis, a conditional UPDATE on a (tenant, day) row. Both are
//! all-or-nothing and never over-grant under concurrency.
//!
//! If Redis is configured but fails, the database counter answers instead
//! (logged). The two counters are separate, so during a Redis outage a tenant
//! can be granted up to one extra day's allowance; no answer is wrong within
//! the counter that gave it.

use chrono::{DateTime, Utc};

use crate::domain::quota::{day_key, remaining, seconds_until_day_end};
use crate::error::Result;
use crate::state::AppState;
use crate::store;

/// Outcome of a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub granted: bool,
    pub used: i64,
    pub limit: i64,
}

impl Reservation {
    pub fn remaining(&self) -> i64 {
        remaining(self.limit, self.used)
    }
}

const RESERVE_SCRIPT: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if used + n > limit then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], n)
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {1, used}
"#;

const RELEASE_SCRIPT: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = math.min(tonumber(ARGV[1]), used)
if n > 0 then
  used = redis.call('DECRBY', KEYS[1], n)
end
return used
"#;

fn redis_key(state: &AppState, tenant_id: &str, day: &str) -> String {
    state.cache.prefixed(&format!("quota:daily:{tenant_id}:{day}"))
}

pub async fn reserve(state: &AppState, tenant_id: &str, n: i64, limit: i64, now: DateTime<Utc>) -> Result<Reservation> {
    let day = day_key(now);
    if let Some(mut redis) = state.cache.redis() {
        let script = redis::Script::new(RESERVE_SCRIPT);
        let ttl = seconds_until_day_end(now) + 3600;
        let result: redis::RedisResult<(i64, i64)> =
            script.key(redis_key(state, tenant_id, &day)).arg(n).arg(limit).arg(ttl).invoke_async(&mut redis).await;
        match result {
            Ok((granted, used)) => return Ok(Reservation { granted: granted == 1, used, limit }),
            Err(e) => tracing::warn!(error = %e, "redis quota counter failed; using the database counter"),
        }
    }
    let r = store::reserve_daily_messages(state.db.writer(), tenant_id, &day, n, limit, now).await?;
    Ok(Reservation { granted: r.granted, used: r.used, limit })
}

pub async fn release(state: &AppState, tenant_id: &str, n: i64, now: DateTime<Utc>) -> Result<i64> {
    let day = day_key(now);
    if let Some(mut redis) = state.cache.redis() {
        let script = redis::Script::new(RELEASE_SCRIPT);
        let result: redis::RedisResult<i64> =
            script.key(redis_key(state, tenant_id, &day)).arg(n).invoke_async(&mut redis).await;
        match result {
            Ok(used) => return Ok(used),
            Err(e) => tracing::warn!(error = %e, "redis quota counter failed; using the database counter"),
        }
    }
    store::release_daily_messages(state.db.writer(), tenant_id, &day, n).await?;
    Ok(store::daily_used(state.db.reader(), tenant_id, &day).await?)
}

pub async fn used(state: &AppState, tenant_id: &str, now: DateTime<Utc>) -> Result<i64> {
    let day = day_key(now);
    if let Some(mut redis) = state.cache.redis() {
        let result: redis::RedisResult<Option<i64>> =
            redis::cmd("GET").arg(redis_key(state, tenant_id, &day)).query_async(&mut redis).await;
        match result {
            Ok(v) => return Ok(v.unwrap_or(0)),
            Err(e) => tracing::warn!(error = %e, "redis quota counter failed; using the database counter"),
        }
    }
    Ok(store::daily_used(state.db.reader(), tenant_id, &day).await?)
}
