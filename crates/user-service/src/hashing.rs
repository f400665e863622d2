//! Runs argon2id on a small dedicated thread pool, one thread per CPU.
//!
//! Each hash takes ~19 MiB and tens of milliseconds of CPU by design. On
//! tokio's blocking pool every new thread would get its own malloc arena and
//! keep its 19 MiB (RSS grew past 500 MiB in a login burst), and a burst would
//! starve other RPCs. A fixed pool bounds both: memory to a few buffers, CPU
//! to the cores. The queue is bounded; past it callers get UNAVAILABLE and
//! retry with backoff.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use secrecy::SecretString;

use crate::domain::password;
use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

/// Hashes waiting for a thread; about a second of work on two cores.
const QUEUE: usize = 64;

static POOL: LazyLock<SyncSender<Job>> = LazyLock::new(|| {
    let (tx, rx) = sync_channel::<Job>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for i in 0..threads {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a password hashing thread");
        }
    }
    tx
});

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(work());
    });
    match POOL.try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(Error::Unavailable("too many password checks in progress; retry shortly".into()));
        }
        Err(TrySendError::Disconnected(_)) => return Err(Error::Internal(anyhow::anyhow!("hashing pool is gone"))),
    }
    rx.await.map_err(|e| Error::Internal(e.into()))
}

/// A PHC string for a new password.
pub async fn hash(password: SecretString) -> Result<String> {
    run(move || password::hash_password(&password))
        .await?
        .map_err(|e| Error::Internal(anyhow::anyhow!("hash password: {e}")))
}

/// Whether `candidate` matches the stored hash. Overload is an error, not a
/// wrong password, so callers don't count it as a failed login.
pub async fn verify(hash: String, candidate: SecretString) -> Result<bool> {
    run(move || password::verify_password(&hash, &candidate)).await
}

/// Costs what a real verification costs, so unknown users can't be told apart.
pub async fn dummy_verify(candidate: SecretString) -> Result<()> {
    run(move || password::dummy_verify(&candidate)).await
}
