//! One shutdown signal for a whole process: servers stop accepting and drain,
//! background workers finish their current item and return.
//!
//! Contract: [`Shutdown`] is cheap to clone and every clone observes the same
//! signal. Workers spawned with [`Shutdown::spawn_worker`] are tracked, so the
//! caller can wait (with a bound) for all of them after triggering. Workers
//! are expected to watch [`Shutdown::cancelled`] between items themselves —
//! nothing is aborted from outside, so no item is cut in half.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The process-wide stop signal plus the set of background workers it stops.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    workers: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown. Idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once shutdown has been triggered (at once if it already was).
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// The underlying token, for APIs that take one (e.g. `select!` arms or
    /// child tokens for a sub-component).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Runs a background loop that is counted by [`Shutdown::wait_workers`].
    /// A panic in the worker is logged with its name rather than lost.
    pub fn spawn_worker<F>(&self, name: impl Into<String>, worker: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        self.workers.spawn(async move {
            tracing::debug!(worker = %name, "worker started");
            match tokio::spawn(worker).await {
                Ok(()) => tracing::debug!(worker = %name, "worker stopped"),
                Err(e) if e.is_panic() => tracing::error!(worker = %name, "worker panicked"),
                Err(_) => tracing::warn!(worker = %name, "worker was aborted"),
            }
        })
    }

    /// Waits until every worker has returned, at most `timeout`. Returns
    /// whether they all did; `false` means some were still running.
    pub async fn wait_workers(&self, timeout: Duration) -> bool {
        self.workers.close();
        let done = tokio::time::timeout(timeout, self.workers.wait()).await.is_ok();
        if !done {
            tracing::warn!(still_running = self.workers.len(), "workers did not stop within {timeout:?}");
        }
        done
    }
}

/// Waits for Ctrl-C or (on unix) SIGTERM, then triggers `shutdown`. Returns
/// early, without logging, if shutdown was triggered some other way.
pub async fn trigger_on_signal(shutdown: Shutdown) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
        () = shutdown.cancelled() => return,
    }
    shutdown.trigger();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn clones_share_the_signal() {
        let a = Shutdown::new();
        let b = a.clone();
        assert!(!b.is_triggered());
        a.trigger();
        assert!(b.is_triggered());
        b.cancelled().await; // resolves at once
        assert!(a.token().is_cancelled());
    }

    #[tokio::test]
    async fn workers_stop_on_trigger_and_are_waited_for() {
        let shutdown = Shutdown::new();
        let finished = Arc::new(AtomicBool::new(false));
        let (flag, s) = (finished.clone(), shutdown.clone());
        shutdown.spawn_worker("loop", async move {
            s.cancelled().await;
            flag.store(true, Ordering::SeqCst);
        });
        shutdown.trigger();
        assert!(shutdown.wait_workers(Duration::from_secs(5)).await);
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn wait_workers_reports_a_stuck_worker() {
        let shutdown = Shutdown::new();
        shutdown.spawn_worker("stuck", std::future::pending::<()>());
        shutdown.trigger();
        assert!(!shutdown.wait_workers(Duration::from_millis(20)).await);
    }

    #[tokio::test]
    async fn a_panicking_worker_still_counts_as_stopped() {
        let shutdown = Shutdown::new();
        shutdown.spawn_worker("boom", async { panic!("boom") });
        assert!(shutdown.wait_workers(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn signal_listener_returns_when_triggered_elsewhere() {
        let shutdown = Shutdown::new();
        let listener = tokio::spawn(trigger_on_signal(shutdown.clone()));
        shutdown.trigger();
        listener.await.expect("listener task");
    }
}
