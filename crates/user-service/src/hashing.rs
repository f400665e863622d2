//! Runs argon2id off the async workers, at most one hash per CPU at a time.
//!
//! Each hash takes ~19 MiB and tens of milliseconds of CPU by design, so
//! without a bound a burst of logins would grow memory per blocking thread and
//! starve every other RPC. Waiting callers queue on the semaphore; the
//! request deadline bounds how long.

use std::sync::LazyLock;

use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::domain::password;
use crate::error::{Error, Result};

static SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _slot = SLOTS.acquire().await.map_err(|e| Error::Internal(e.into()))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(e.into()))
}

/// A PHC string for a new password.
pub async fn hash(password: SecretString) -> Result<String> {
    run(move || password::hash_password(&password))
        .await?
        .map_err(|e| Error::Internal(anyhow::anyhow!("hash password: {e}")))
}

/// Whether `candidate` matches the stored hash.
pub async fn verify(hash: String, candidate: SecretString) -> bool {
    run(move || password::verify_password(&hash, &candidate)).await.unwrap_or(false)
}

/// Costs what a real verification costs, so unknown users can't be told apart.
pub async fn dummy_verify(candidate: SecretString) {
    let _ = run(move || password::dummy_verify(&candidate)).await;
}
