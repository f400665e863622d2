//! Writes attempt results in batches (one transaction per batch, each row
//! conditional on its claim id), then keeps endpoint health: a success ends
//! an endpoint's failure streak; a failure starts one; an endpoint failing
//! for longer than `endpoint_disable_after_secs` is disabled and its owner
//! told through a live `endpoint.disabled` event.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{Attempt, InFlight};
use crate::state::AppState;
use crate::store::{self, AttemptRecord, NextStep};

/// Results written per transaction at most.
const BATCH: usize = 256;
/// Attempts at writing one batch before giving up on it (its leases then
/// expire and the tasks run again: at least once, never lost).
const WRITE_TRIES: u32 = 5;

pub(super) async fn run(state: AppState, mut results: mpsc::Receiver<Attempt>, in_flight: InFlight) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = results.recv().await {
        batch.push(first);
        while batch.len() < BATCH {
            match results.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut records = Vec::new();
        let mut claims = Vec::with_capacity(batch.len());
        for item in batch.drain(..) {
            match item {
                Attempt::Done(record) => {
                    claims.push(record.claim_id.clone());
                    records.push(*record);
                }
                Attempt::Defer { task_id, claim_id, at } => {
                    let db = state.db.writer();
                    let ids = [task_id];
                    let deferred =
                        wework_kit::db::retry_transient(|| store::defer_tasks(db, &claim_id, &ids, at)).await;
                    if let Err(e) = deferred {
                        tracing::warn!(error = %e, "deferring a rate-limited task failed; its lease will expire");
                    }
                    claims.push(claim_id);
                }
            }
        }
        if !records.is_empty() {
            write(&state, records).await;
        }
        for claim_id in &claims {
            in_flight.done(claim_id);
        }
    }
}

async fn write(state: &AppState, records: Vec<AttemptRecord>) {
    let mut tries = 0;
    let applied = loop {
        tries += 1;
        match store::record_attempts(state.db.writer(), records.clone(), state.clock.now()).await {
            Ok(applied) => break applied,
            Err(e) if tries < WRITE_TRIES => {
                tracing::warn!(error = %e, tries, "writing attempt results failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 * 2u64.pow(tries))).await;
            }
            Err(e) => {
                tracing::error!(error = %e, results = records.len(), "giving up writing attempt results; the tasks will run again");
                return;
            }
        }
    };
    let mut succeeded = Vec::new();
    let mut failed = Vec::new();
    for r in &applied {
        let Some(endpoint) = &r.endpoint_id else { continue };
        match r.next {
            NextStep::Succeeded => succeeded.push(endpoint.clone()),
            _ if r.http_status.is_some() || r.error.as_deref().is_some_and(|e| !e.starts_with("refused")) => {
                failed.push(endpoint.clone())
            }
            _ => {}
        }
    }
    succeeded.sort();
    succeeded.dedup();
    failed.sort();
    failed.dedup();
    failed.retain(|id| !succeeded.contains(id));
    if let Err(e) = track_endpoints(state, &succeeded, &failed).await {
        tracing::warn!(error = %e, "updating endpoint health failed");
    }
}

async fn track_endpoints(state: &AppState, succeeded: &[String], failed: &[String]) -> Result<(), sea_orm::DbErr> {
    let db = state.db.writer();
    let now = state.clock.now();
    store::endpoint_succeeded(db, succeeded).await?;
    store::endpoint_failed(db, failed, now).await?;
    let after = i64::try_from(state.settings.worker.endpoint_disable_after_secs).unwrap_or(i64::MAX / 2);
    let cutoff = now - chrono::Duration::seconds(after);
    let disabled = store::disable_failing_endpoints(db, failed, cutoff, now).await?;
    let events = wework_kit::events::EventEnvelope::new(crate::settings::SERVICE_NAME, state.clock.clone());
    for endpoint in disabled {
        state.forget_endpoint(&endpoint.id).await;
        tracing::warn!(endpoint_id = %endpoint.id, owner = %endpoint.owner, "endpoint disabled after failing too long");
        metrics::counter!("task_endpoints_disabled_total").increment(1);
        if let Some(tenant) = &endpoint.tenant_id {
            let data = serde_json::json!({
                "endpoint_id": endpoint.id,
                "url": endpoint.url,
                "failing_since": endpoint.failing_since,
                "reason": endpoint.disabled_reason,
            });
            if let Ok(event) = events.build(tenant, "endpoint.disabled", &endpoint.id, data) {
                state.live.announce(&event).await;
            }
        }
    }
    Ok(())
}
