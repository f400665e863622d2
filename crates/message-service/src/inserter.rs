//! Group commit for message creation. Concurrent `SendMessage` calls in one
//! replica hand their rows to one inserter, which writes whatever has queued
//! up as one multi-row insert (+ one statistics upsert per hour slot) in one
//! transaction. Nothing waits for a batch to fill: a lone call is written at
//! once; under load the queue fills while the previous write runs, so
//! batches grow exactly when it pays. On SQLite, with its single writer,
//! this is the difference between one transaction per message and one per
//! burst; on MariaDB a few bursts run at once so commits overlap.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};
use wework_kit::clock::SharedClock;
use wework_kit::db::Db;

use crate::store::{self, NewMessage, entity::message};

/// Rows written per statement at most.
const MAX_BATCH: usize = 1_000;
const MYSQL_PARALLEL: usize = 4;
/// Calls waiting for the inserter before callers feel back-pressure.
const QUEUE: usize = 8_192;

type Reply = oneshot::Sender<Result<Vec<(message::Model, bool)>, DbErr>>;

struct Job {
    messages: Vec<NewMessage>,
    reply: Reply,
}

/// Handle to the inserter task; cheap to clone.
#[derive(Clone)]
pub struct MessageInserter {
    jobs: mpsc::Sender<Job>,
}

impl MessageInserter {
    /// Starts the inserter on the current runtime. It stops when every
    /// handle is dropped.
    pub fn start(db: Db, clock: SharedClock) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let parallel = if db.is_sqlite() { 1 } else { MYSQL_PARALLEL };
        tokio::spawn(run(db, clock, rx, parallel));
        Self { jobs }
    }

    /// Creates (or finds, by tenant + idempotency key) `messages`, in input
    /// order; `true` where created.
    pub async fn create(&self, messages: Vec<NewMessage>) -> Result<Vec<(message::Model, bool)>, DbErr> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job { messages, reply }).await.map_err(|_| DbErr::Custom("message inserter stopped".into()))?;
        rx.await.map_err(|_| DbErr::Custom("message inserter stopped".into()))?
    }
}

async fn run(db: Db, clock: SharedClock, mut rx: mpsc::Receiver<Job>, parallel: usize) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    while let Some(first) = rx.recv().await {
        // Wait for a free write slot first, so the burst keeps growing meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut jobs = vec![first];
        let mut rows = jobs[0].messages.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.messages.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let db = db.clone();
        let now = clock.now();
        tokio::spawn(async move {
            write(&db, now, jobs).await;
            drop(slot);
        });
    }
}

/// Writes a burst in one transaction, then answers every caller with its
/// own rows (or the burst's error).
async fn write(db: &Db, now: DateTime<Utc>, jobs: Vec<Job>) {
    let all: Vec<NewMessage> = jobs.iter().flat_map(|j| j.messages.iter().cloned()).collect();
    let conn = db.writer();
    let written = wework_kit::db::retry_transient(|| store::create_messages(conn, all.clone(), now)).await;
    match written {
        Ok(rows) => {
            let mut rows = rows.into_iter();
            for job in jobs {
                let mine: Vec<_> = rows.by_ref().take(job.messages.len()).collect();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
