//! The retention job, in every replica: messages that can no longer change
//! (outgoing in a final state, inbound ones) older than
//! `retention.max_age_days` are deleted, in batches of `retention.batch`
//! (select ids, delete by id) until a batch comes back short; so are
//! statistics rows of days before the cutoff's UTC date. Pending and sending
//! messages stay whatever their age: they still have a result to come.
//!
//! Age is `created_at`, the instant statistics slots are keyed by; a slot
//! goes once its whole UTC day is past the cutoff, so a purged day's
//! counters follow its messages within a day.

use std::time::Duration;

use wework_kit::shutdown::Shutdown;

use crate::state::AppState;
use crate::store;

/// Starts the retention loop under `shutdown`.
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    shutdown.spawn_worker("message-retention", run(state.clone(), shutdown.clone()));
}

async fn run(state: AppState, shutdown: Shutdown) {
    let every = Duration::from_secs(state.settings.retention.interval_secs);
    loop {
        match run_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "old messages purged"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "retention run failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

/// One full pass at `state.clock.now()`; returns how many messages were deleted.
pub async fn run_once(state: &AppState) -> anyhow::Result<u64> {
    let settings = &state.settings.retention;
    let age = chrono::Duration::days(i64::from(settings.max_age_days));
    // An age reaching before the calendar's start: nothing is that old.
    let Some(cutoff) = state.clock.now().checked_sub_signed(age) else { return Ok(0) };
    let db = state.db.writer();
    let mut messages = 0;
    loop {
        let ids = store::purgeable_message_ids(db, cutoff, settings.batch).await?;
        if !ids.is_empty() {
            messages += store::delete_messages(db, &ids).await?;
        }
        if (ids.len() as u64) < settings.batch {
            break;
        }
    }
    let before_date = cutoff.format("%Y-%m-%d").to_string();
    let mut stats = 0;
    loop {
        let ids = store::old_statistics_ids(db, &before_date, settings.batch).await?;
        if !ids.is_empty() {
            stats += store::delete_statistics(db, &ids).await?;
        }
        if (ids.len() as u64) < settings.batch {
            break;
        }
    }
    metrics::counter!("message_retention_purged_total", "kind" => "message").increment(messages);
    metrics::counter!("message_retention_purged_total", "kind" => "statistics").increment(stats);
    if stats > 0 {
        tracing::debug!(rows = stats, %before_date, "old statistics purged");
    }
    Ok(messages)
}
