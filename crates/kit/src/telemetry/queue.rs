//! Depth and lag of a worker's queue, as gauges every service exports the
//! same way: `worker_queue_depth{queue}` (items due and waiting to be
//! claimed) and `worker_queue_lag_seconds{queue}` (how long the oldest of
//! them has been due; 0 when none waits).
//!
//! Why a sampler and not bookkeeping in the worker: the queue is a table
//! shared by every replica, so only the database knows its depth. Each
//! replica samples it with one cheap indexed query every [`SAMPLE_EVERY`];
//! all replicas report the same value, so dashboards take `max`, not `sum`.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::clock::SharedClock;
use crate::shutdown::Shutdown;

/// Often enough for a dashboard and an alert; rare enough to cost nothing.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Rows of `E` whose `status` column equals `waiting` and whose `due` column
/// is at or before `now`, and the oldest such due time: the one query every
/// leased queue (tasks, messages, callback events) samples, an index-only
/// pass where an index starts with (status, due).
pub async fn due_sample<E, C>(
    db: &C,
    status: E::Column,
    waiting: &str,
    due: E::Column,
    now: DateTime<Utc>,
) -> Result<QueueSample, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    // In here only: its blanket `max`/`min` would shadow `Ord`'s elsewhere.
    use sea_orm::sea_query::ExprTrait;
    let row: Option<(i64, Option<DateTime<Utc>>)> = E::find()
        .filter(status.eq(waiting))
        .filter(due.lte(now))
        .select_only()
        .column_as(Expr::col(due).count(), "n")
        .column_as(Expr::col(due).min(), "oldest")
        .into_tuple()
        .one(db)
        .await?;
    let (n, oldest_due) = row.unwrap_or_default();
    Ok(QueueSample { depth: u64::try_from(n).unwrap_or(0), oldest_due })
}

/// One look at a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSample {
    /// Items due and not claimed.
    pub depth: u64,
    /// When the longest-waiting of them became due.
    pub oldest_due: Option<DateTime<Utc>>,
}

impl QueueSample {
    /// Seconds the oldest due item has waited at `now`; 0 without one (or
    /// with one due in the future, as a skewed clock may report).
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        self.oldest_due.map_or(0.0, |due| (now - due).num_milliseconds().max(0) as f64 / 1_000.0)
    }

    /// Sets the gauges of `queue`.
    pub fn record(&self, queue: &'static str, now: DateTime<Utc>) {
        metrics::gauge!("worker_queue_depth", "queue" => queue).set(self.depth as f64);
        metrics::gauge!("worker_queue_lag_seconds", "queue" => queue).set(self.lag_seconds(now));
    }
}

/// Samples `queue` with `sample(now)` every [`SAMPLE_EVERY`] until shutdown.
/// A failed sample keeps the last values (and logs at debug: the worker
/// itself reports a database that is down).
pub fn spawn_queue_gauges<F, Fut, E>(shutdown: &Shutdown, queue: &'static str, clock: SharedClock, mut sample: F)
where
    F: FnMut(DateTime<Utc>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<QueueSample, E>> + Send,
    E: Display,
{
    let stop = shutdown.clone();
    shutdown.spawn_worker(format!("{queue}-queue-gauges"), async move {
        loop {
            let now = clock.now();
            match sample(now).await {
                Ok(s) => s.record(queue, now),
                Err(e) => tracing::debug!(queue, error = %e, "sampling the queue failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(SAMPLE_EVERY) => {}
                () = stop.cancelled() => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_oldest_due_items_wait_and_never_negative() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let at = |secs: i64| Some(now - chrono::Duration::milliseconds(secs));
        assert_eq!(QueueSample::default().lag_seconds(now), 0.0);
        assert_eq!(QueueSample { depth: 3, oldest_due: at(2_500) }.lag_seconds(now), 2.5);
        assert_eq!(QueueSample { depth: 1, oldest_due: at(-1_000) }.lag_seconds(now), 0.0);
        // Without a recorder installed this is a no-op, and must not panic.
        QueueSample { depth: 3, oldest_due: at(1) }.record("test", now);
    }

    #[tokio::test]
    async fn the_sampler_stops_with_shutdown() {
        let shutdown = Shutdown::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        spawn_queue_gauges(&shutdown, "test", crate::clock::system(), move |_| {
            let _ = tx.send(());
            async { Ok::<_, std::convert::Infallible>(QueueSample::default()) }
        });
        rx.recv().await.expect("sampled once at start");
        shutdown.trigger();
        assert!(shutdown.wait_workers(Duration::from_secs(5)).await, "the sampler stopped");
    }
}
