//! The retention job: deletes finished events past `retention.max_age_days`
//! in batches (one short statement each, so ingest never waits long on it).

use std::time::Duration;

use wework_kit::shutdown::Shutdown;

use crate::state::AppState;
use crate::store;

pub fn spawn(state: AppState, shutdown: Shutdown) {
    shutdown.spawn_worker("callback-retention", run(state, shutdown.clone()));
}

async fn run(state: AppState, shutdown: Shutdown) {
    let every = Duration::from_secs(state.settings.retention.interval_secs);
    loop {
        match purge(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old callback events deleted"),
            Err(e) => tracing::warn!(error = %e, "callback retention failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Deletes every finished event past the retention age, batch by batch;
/// returns how many.
pub async fn purge(state: &AppState) -> Result<u64, sea_orm::DbErr> {
    let cfg = &state.settings.retention;
    let cutoff = state.clock.now() - chrono::Duration::days(i64::from(cfg.max_age_days));
    let mut total = 0;
    loop {
        let n = store::purge_finished(state.db.writer(), cutoff, cfg.batch).await?;
        total += n;
        if n < cfg.batch {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
