//! Group commit for ingest. Concurrent callbacks hand their rows to one
//! writer, which stores whatever has queued up as one multi-row insert in
//! one transaction and only then lets their senders have the 200. A lone
//! callback is written at once; under load the queue fills while the
//! previous write runs, so bursts grow exactly when it pays (SQLite has one
//! writer; on MariaDB a few bursts commit at once). A full queue answers
//! 503 at once rather than letting the sender time out.

use std::sync::Arc;

use sea_orm::DbErr;
use tokio::sync::{Notify, mpsc, oneshot};
use wework_kit::clock::SharedClock;
use wework_kit::db::Db;

use crate::store::{self, NewEvent};

/// Rows written per burst at most.
const MAX_BURST: usize = 2_000;
const MYSQL_PARALLEL: usize = 4;

/// Why a callback was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("ingest queue full")]
    Overloaded,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

struct Job {
    event: NewEvent,
    reply: oneshot::Sender<Result<(), DbErr>>,
}

/// Handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct EventWriter {
    jobs: mpsc::Sender<Job>,
}

impl EventWriter {
    /// Starts the writer on the current runtime; `stored` is notified after
    /// every committed burst (it wakes the processor). Stops when every
    /// handle is dropped.
    pub fn start(db: Db, clock: SharedClock, queue: usize, stored: Arc<Notify>) -> Self {
        let (jobs, rx) = mpsc::channel(queue);
        let parallel = if db.is_sqlite() { 1 } else { MYSQL_PARALLEL };
        tokio::spawn(run(db, clock, rx, parallel, stored));
        Self { jobs }
    }

    /// Stores `event` (a copy of a stored one is a no-op) and returns once
    /// it is committed.
    pub async fn store(&self, event: NewEvent) -> Result<(), WriteError> {
        let (reply, rx) = oneshot::channel();
        self.jobs.try_send(Job { event, reply }).map_err(|_| WriteError::Overloaded)?;
        rx.await.map_err(|_| WriteError::Db(DbErr::Custom("event writer stopped".into())))?.map_err(WriteError::Db)
    }
}

async fn run(db: Db, clock: SharedClock, mut rx: mpsc::Receiver<Job>, parallel: usize, stored: Arc<Notify>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
    while let Some(first) = rx.recv().await {
        // Wait for a free write slot first, so the burst keeps growing meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BURST {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (db, clock, stored) = (db.clone(), clock.clone(), stored.clone());
        tokio::spawn(async move {
            let (rows, replies): (Vec<NewEvent>, Vec<_>) = jobs.into_iter().map(|j| (j.event, j.reply)).unzip();
            let now = clock.now();
            let written = wework_kit::db::retry_transient(|| store::insert_events(db.writer(), &rows, now)).await;
            metrics::histogram!("callback_ingest_burst_rows").record(rows.len() as f64);
            if written.is_ok() {
                stored.notify_one();
            }
            for reply in replies {
                let _ = reply.send(written.clone());
            }
            drop(slot);
        });
    }
}
