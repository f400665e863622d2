//! Background work of every replica: the watchdog (offline detection,
//! recovery, instance probes) and the status-event relay. Each loop is
//! stoppable by the shutdown signal; every rule uses the injected clock,
//! so tests call [`watchdog::tick`] directly instead of waiting.

pub mod watchdog;

use std::time::Duration;

use wework_kit::shutdown::Shutdown;

use crate::state::AppState;

/// Starts the watchdog loop.
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    let state = state.clone();
    let every = Duration::from_millis(state.settings.watchdog.tick_ms);
    let stop = shutdown.clone();
    shutdown.spawn_worker("account-watchdog", async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = interval.tick() => {
                    if let Err(e) = watchdog::tick(&state).await {
                        tracing::warn!(error = %e, "watchdog tick failed");
                    }
                }
            }
        }
    });
}
