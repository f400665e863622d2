//! Group commit for task creation. Concurrent `CreateTask` calls in one
//! replica hand their rows to one inserter, which writes whatever has queued
//! up in a single multi-row statement per business system (two statements
//! per group instead of two per task). Nothing waits for a batch to fill: a
//! lone call is written at once; under load the queue fills while the
//! previous write runs, so batches grow exactly when it pays. On SQLite, with
//! its single writer, this is the difference between one transaction per
//! task and one per burst.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};
use wework_kit::clock::SharedClock;
use wework_kit::db::Db;

use crate::store::{self, NewTask, entity::task};

/// Rows written per statement at most.
const MAX_BATCH: usize = 500;
/// Bursts written at once on MySQL/MariaDB: InnoDB folds concurrent commits
/// into one log flush, so a few bursts in flight hide the commit latency.
/// SQLite has one writer: one burst at a time.
const MYSQL_PARALLEL: usize = 4;
/// Calls waiting for the inserter before callers feel back-pressure.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Vec<(task::Model, bool)>, DbErr>>;

struct Job {
    tasks: Vec<NewTask>,
    reply: Reply,
}

/// Handle to the inserter task; cheap to clone.
#[derive(Clone)]
pub struct TaskInserter {
    jobs: mpsc::Sender<Job>,
}

impl TaskInserter {
    /// Starts the inserter on the current runtime. It stops when every
    /// handle is dropped.
    pub fn start(db: Db, clock: SharedClock) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let parallel = if db.is_sqlite() { 1 } else { MYSQL_PARALLEL };
        tokio::spawn(run(db, clock, rx, parallel));
        Self { jobs }
    }

    /// Creates (or finds, by business_unique_id) `tasks`, all of one
    /// business system, in input order.
    pub async fn create(&self, tasks: Vec<NewTask>) -> Result<Vec<(task::Model, bool)>, DbErr> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job { tasks, reply }).await.map_err(|_| DbErr::Custom("task inserter stopped".into()))?;
        rx.await.map_err(|_| DbErr::Custom("task inserter stopped".into()))?
    }
}

async fn run(db: Db, clock: SharedClock, mut rx: mpsc::Receiver<Job>, parallel: usize) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    while let Some(first) = rx.recv().await {
        // Wait for a free write slot first, so the burst keeps growing meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut jobs = vec![first];
        let mut rows = jobs[0].tasks.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.tasks.len();
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

/// Writes a burst: one `create_tasks` per business system, then answers
/// every caller with its own rows (or the group's error).
async fn write(db: &Db, now: DateTime<Utc>, jobs: Vec<Job>) {
    let mut groups: HashMap<String, Vec<Job>> = HashMap::new();
    for job in jobs {
        let business = job.tasks.first().map(|t| t.business_id.clone()).unwrap_or_default();
        groups.entry(business).or_default().push(job);
    }
    for (_, jobs) in groups {
        let all: Vec<NewTask> = jobs.iter().flat_map(|j| j.tasks.iter().cloned()).collect();
        let conn = db.writer();
        let written = wework_kit::db::retry_transient(|| store::create_tasks(conn, all.clone(), now)).await;
        match written {
            Ok(rows) => {
                let mut rows = rows.into_iter();
                for job in jobs {
                    let mine: Vec<_> = rows.by_ref().take(job.tasks.len()).collect();
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
}
