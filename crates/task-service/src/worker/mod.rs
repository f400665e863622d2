//! The delivery worker, in every replica. Three loops:
//! - the claimer takes up to `claim_batch` due tasks whenever a delivery
//!   slot is free (never more than `concurrency` in flight), and starts one
//!   attempt per task;
//! - the writer writes attempt results in batches, each conditional on its
//!   claim id, and tracks endpoint health;
//! - the lease keeper extends the leases of deliveries still running and
//!   returns expired leases (a crashed replica's) to `pending`.
//!
//! Besides, the due backlog is sampled into the `task` queue gauges
//! (`wework_kit::telemetry::queue`).
//!
//! On shutdown the claimer stops; running attempts finish and are written;
//! the lease keeper stops when nothing is in flight.

mod attempt;
pub mod scheduler;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::Instrument;
use wework_kit::shutdown::Shutdown;

use crate::delivery::Deliverer;
use crate::ratelimit::HostLimiter;
use crate::state::AppState;
use crate::store;

pub use attempt::Attempt;

/// Claims in flight: claim id → deliveries of it not yet written.
#[derive(Debug, Default, Clone)]
pub(crate) struct InFlight(Arc<Mutex<HashMap<String, usize>>>);

impl InFlight {
    fn add(&self, claim_id: &str, n: usize) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(claim_id.to_owned()).or_default() += n;
        }
    }

    pub(crate) fn done(&self, claim_id: &str) {
        if let Ok(mut m) = self.0.lock()
            && let Some(n) = m.get_mut(claim_id)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(claim_id);
            }
        }
    }

    fn claim_ids(&self) -> Vec<String> {
        self.0.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }
}

/// Shared by the loops and every attempt.
pub(crate) struct Worker {
    pub(crate) state: AppState,
    pub(crate) deliverer: Deliverer,
    pub(crate) hosts: HostLimiter,
    pub(crate) name: String,
    in_flight: InFlight,
    slots: Arc<Semaphore>,
}

/// Starts the worker's loops under `shutdown`.
pub fn spawn(state: &AppState, deliverer: Deliverer, shutdown: &Shutdown) {
    let settings = &state.settings.worker;
    let worker = Arc::new(Worker {
        state: state.clone(),
        deliverer,
        hosts: HostLimiter::new(settings.max_per_host),
        name: settings.worker_name(),
        in_flight: InFlight::default(),
        slots: Arc::new(Semaphore::new(settings.concurrency)),
    });
    let (tx, rx) = mpsc::channel(settings.concurrency.max(64));
    shutdown.spawn_worker("task-writer", writer::run(state.clone(), rx, worker.in_flight.clone()));
    shutdown.spawn_worker("task-claimer", worker.clone().claim_loop(tx, shutdown.clone()));
    shutdown.spawn_worker("task-leases", worker.lease_loop(shutdown.clone()));
    let db = state.db.clone();
    wework_kit::telemetry::queue::spawn_queue_gauges(shutdown, "task", state.clock.clone(), move |now| {
        let db = db.clone();
        async move { store::due_backlog(db.reader(), now).await }
    });
}

impl Worker {
    async fn claim_loop(self: Arc<Self>, results: mpsc::Sender<Attempt>, shutdown: Shutdown) {
        let settings = self.state.settings.worker.clone();
        let lease = chrono::Duration::seconds(i64::try_from(settings.lease_secs).unwrap_or(30));
        let mut failures = 0u32;
        loop {
            let Some(mut permits) = self.free_slots(settings.claim_batch as usize, &shutdown).await else {
                break;
            };
            let now = self.state.clock.now();
            let claimed =
                store::claim_due_tasks(self.state.db.writer(), &self.name, now, now + lease, permits.len() as u64)
                    .await;
            let (claim_id, tasks) = match claimed {
                Ok(c) => {
                    failures = 0;
                    c
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, "claiming tasks failed");
                    let backoff = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    if wait_or_shutdown(&shutdown, backoff).await {
                        break;
                    }
                    continue;
                }
            };
            if tasks.is_empty() {
                drop(permits);
                let idle = Duration::from_millis(settings.idle_poll_ms);
                tokio::select! {
                    () = self.state.wake.notified() => {}
                    () = tokio::time::sleep(idle) => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            self.in_flight.add(&claim_id, tasks.len());
            permits.truncate(tasks.len());
            for (task, permit) in tasks.into_iter().zip(permits) {
                let worker = self.clone();
                let results = results.clone();
                let claim_id = claim_id.clone();
                let span = attempt_span(&task);
                tokio::spawn(
                    async move {
                        let outcome = attempt::run(&worker, task, claim_id).await;
                        // The slot frees once the result is queued for the writer.
                        let _ = results.send(outcome).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
    }

    /// Waits for at least one free delivery slot, then takes up to `max`.
    /// `None` on shutdown.
    async fn free_slots(&self, max: usize, shutdown: &Shutdown) -> Option<Vec<OwnedSemaphorePermit>> {
        let first = tokio::select! {
            p = self.slots.clone().acquire_owned() => p.ok()?,
            () = shutdown.cancelled() => return None,
        };
        let mut permits = vec![first];
        while permits.len() < max {
            match self.slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        Some(permits)
    }

    async fn lease_loop(self: Arc<Self>, shutdown: Shutdown) {
        let settings = self.state.settings.worker.clone();
        let every = Duration::from_secs(settings.renew_every_secs);
        let lease = chrono::Duration::seconds(i64::try_from(settings.lease_secs).unwrap_or(30));
        loop {
            let stopping = if shutdown.is_triggered() {
                // Draining: keep leases alive until the last result is written.
                tokio::time::sleep(every.min(Duration::from_millis(200))).await;
                true
            } else {
                wait_or_shutdown(&shutdown, every).await
            };
            let claims = self.in_flight.claim_ids();
            if stopping && claims.is_empty() {
                break;
            }
            let now = self.state.clock.now();
            let db = self.state.db.writer();
            if let Err(e) = store::renew_task_leases(db, &claims, now + lease).await {
                tracing::warn!(error = %e, "renewing task leases failed");
            }
            match store::reclaim_expired_tasks(db, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(tasks = n, "reclaimed tasks whose lease expired");
                    self.state.wake.notify_one();
                }
                Err(e) => tracing::warn!(error = %e, "reclaiming expired leases failed"),
            }
        }
    }
}

/// One delivery attempt's span, a child of the request that created the
/// task (stored with it), so the webhook continues that request's trace.
fn attempt_span(task: &store::entity::task::Model) -> tracing::Span {
    let span = tracing::info_span!(
        "task.delivery",
        task_id = %task.id,
        attempt = task.attempts,
        tenant_id = task.tenant_id.as_deref().unwrap_or_default(),
        otel.kind = "client",
    );
    wework_kit::telemetry::with_parent(span, task.traceparent.as_deref())
}

/// Sleeps `d`; true when shutdown triggered first.
async fn wait_or_shutdown(shutdown: &Shutdown, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => shutdown.is_triggered(),
        () = shutdown.cancelled() => true,
    }
}
