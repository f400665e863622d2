//! The dispatcher, in every replica, any number of replicas. One [`tick`]
//! is one round:
//! 1. messages whose holder vanished (lease expired) go back to `pending`;
//! 2. up to `dispatch.claim_batch` due outgoing messages are claimed with a
//!    lease (`store::MESSAGE_LEASE`), so no other replica holds them;
//! 3. they are grouped by account; accounts run concurrently (at most
//!    `dispatch.concurrency` at once), each account's messages one after
//!    another through its throttle ([`account`]);
//! 4. results are written as they come, in batches (whatever queued up
//!    while the previous batch was written), each one conditional on the
//!    claim id, with the statistics in the same transaction; events follow
//!    the commit. The lease is renewed while the round runs.
//!
//! Exactly-once towards WeWork rests on the instance: the client message id
//! is the message id, so a send repeated after a timeout, a lost write or a
//! crashed replica is answered from the first send and sends nothing.
//! Every decision uses `state.clock`, so tests drive rounds with a manual
//! clock.

mod account;
mod batch_rules;

use std::future::Future;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use rand::Rng;
use tokio::sync::mpsc;
use wework_kit::shutdown::Shutdown;

use crate::settings::DispatchSettings;
use crate::state::AppState;
use crate::store::{self, DispatchResult, Resolution, entity::message};

#[cfg(test)]
#[path = "dispatcher_tests.rs"]
mod tests;

/// `error_code` of a message whose account stayed away too long.
pub const ACCOUNT_OFFLINE: &str = "ACCOUNT_OFFLINE";
/// Results written per transaction at most.
const WRITE_BATCH: usize = 500;

/// What one round did, for logs, metrics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DispatchReport {
    /// Messages whose lease had expired, returned to `pending`.
    pub reclaimed: u64,
    pub claimed: usize,
    pub sent: usize,
    /// Back to pending without an attempt (throttle, offline account, rate limit).
    pub deferred: usize,
    /// Back to pending after a failed attempt.
    pub retrying: usize,
    pub failed: usize,
    /// Messages of a cancelled or failed batch, cancelled instead of sent.
    pub cancelled: usize,
    /// Results not written: the lease was taken over, or the write failed
    /// (the lease then brings the message back).
    pub lost: usize,
}

/// Starts the dispatch loop under `shutdown`: a round every
/// `dispatch.tick_ms`, or at once after a full round.
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    shutdown.spawn_worker("message-dispatcher", run(state.clone(), shutdown.clone()));
}

async fn run(state: AppState, shutdown: Shutdown) {
    let every = StdDuration::from_millis(state.settings.dispatch.tick_ms);
    let mut failures = 0u32;
    loop {
        let full = match tick(&state).await {
            Ok(report) => {
                failures = 0;
                report.claimed as u64 >= state.settings.dispatch.claim_batch
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = format!("{e:#}"), failures, "dispatch round failed");
                false
            }
        };
        if shutdown.is_triggered() {
            break;
        }
        if full {
            continue;
        }
        // A failing database is not hammered: up to 64 ticks between tries.
        let pause = every * 2u32.pow(failures.min(6));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

/// One round at `state.clock.now()` (see the module doc); returns when every
/// claimed message's result is written (or known lost).
pub async fn tick(state: &AppState) -> anyhow::Result<DispatchReport> {
    let settings = &state.settings.dispatch;
    let db = state.db.writer();
    let now = state.clock.now();
    let mut report =
        DispatchReport { reclaimed: store::reclaim_expired_messages(db, now).await?, ..Default::default() };
    if report.reclaimed > 0 {
        tracing::info!(messages = report.reclaimed, "reclaimed messages whose lease expired");
    }
    let lease = lease_of(settings);
    let (claim_id, rows) =
        store::claim_due_messages(db, &state.worker_id, now, now + lease, settings.claim_batch).await?;
    report.claimed = rows.len();
    if rows.is_empty() {
        return Ok(report);
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let sends = async move {
        futures::stream::iter(by_account(rows))
            .for_each_concurrent(settings.concurrency, |(account_id, messages)| {
                let tx = tx.clone();
                async move { account::run(state, &account_id, messages, &tx).await }
            })
            .await;
        // `tx` drops here: the writer ends after the last result.
    };
    let work = async {
        tokio::join!(sends, write_all(state, &claim_id, rx, &mut report));
    };
    keep_leased(state, &claim_id, work).await;
    metrics::counter!("message_dispatch_results_total", "result" => "sent").increment(report.sent as u64);
    metrics::counter!("message_dispatch_results_total", "result" => "deferred").increment(report.deferred as u64);
    metrics::counter!("message_dispatch_results_total", "result" => "retrying").increment(report.retrying as u64);
    metrics::counter!("message_dispatch_results_total", "result" => "failed").increment(report.failed as u64);
    metrics::counter!("message_dispatch_results_total", "result" => "lost").increment(report.lost as u64);
    Ok(report)
}

/// Groups claimed rows by account, keeping claim order within and across.
fn by_account(rows: Vec<message::Model>) -> Vec<(String, Vec<message::Model>)> {
    let mut groups: Vec<(String, Vec<message::Model>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for row in rows {
        let i = *index.entry(row.account_id.clone()).or_insert_with(|| {
            groups.push((row.account_id.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(row);
    }
    groups
}

/// Runs `work` while renewing the claim's lease every third of its length.
async fn keep_leased<T>(state: &AppState, claim_id: &str, work: impl Future<Output = T>) -> T {
    let settings = &state.settings.dispatch;
    let every = StdDuration::from_secs((settings.lease_secs / 3).max(1));
    let claims = [claim_id.to_owned()];
    let renew = || async {
        let until = state.clock.now() + lease_of(settings);
        if let Err(e) = store::renew_message_leases(state.db.writer(), &claims, until).await {
            tracing::warn!(error = %e, "renewing message leases failed");
        }
    };
    wework_kit::lease::while_renewing(every, renew, work).await
}

/// Writes results as they arrive: the first at once, then whatever queued
/// up meanwhile, in one transaction per batch.
async fn write_all(
    state: &AppState,
    claim_id: &str,
    mut rx: mpsc::UnboundedReceiver<DispatchResult>,
    report: &mut DispatchReport,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let total = batch.len();
        let db = state.db.writer();
        let now = state.clock.now();
        let written =
            wework_kit::db::retry_transient(|| store::write_dispatch_results(db, claim_id, batch.clone(), now)).await;
        let written = match written {
            Ok(written) => written,
            Err(e) => {
                tracing::error!(error = %e, results = total, "writing dispatch results failed; the leases bring them back");
                report.lost += total;
                continue;
            }
        };
        report.lost += total - written.len();
        for r in &written {
            match &r.resolution {
                Resolution::Sent { .. } => {
                    report.sent += 1;
                    state.events.status_changed(&r.message, "sent");
                }
                Resolution::Failed { .. } => {
                    report.failed += 1;
                    state.events.status_changed(&r.message, "failed");
                }
                Resolution::Deferred { .. } | Resolution::Held => report.deferred += 1,
                Resolution::Retry { .. } => report.retrying += 1,
                Resolution::Cancelled { .. } => {
                    report.cancelled += 1;
                    // Reserved when it was queued, never sent.
                    state.quota.release(&r.message.tenant_id, 1).await;
                }
            }
        }
    }
}

fn lease_of(settings: &DispatchSettings) -> Duration {
    secs(settings.lease_secs)
}

/// A setting in seconds as a duration, at most a century (so adding it to
/// a time never overflows, whatever an operator configured).
pub(crate) fn secs(n: u64) -> Duration {
    const CENTURY: u64 = 100 * 366 * 86_400;
    Duration::seconds(i64::try_from(n.min(CENTURY)).unwrap_or(0))
}

/// Since when a message has been due: its creation, or its scheduled time
/// if later. Latency and the offline wait are measured from here.
pub(crate) fn due_since(m: &message::Model) -> DateTime<Utc> {
    m.scheduled_time.map_or(m.created_at, |s| s.max(m.created_at))
}

/// The wait after the `attempt`-th failed attempt (1-based):
/// `retry_backoff_secs · 2^(attempt-1)`, capped at `retry_backoff_max_secs`,
/// then ±20 % jitter (so retries of one outage spread out), never above the cap.
pub fn retry_backoff(settings: &DispatchSettings, attempt: u32, rng: &mut impl Rng) -> Duration {
    let base_ms = settings.retry_backoff_secs.saturating_mul(1_000);
    let max_ms = settings.retry_backoff_max_secs.saturating_mul(1_000).max(base_ms);
    let exp = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(32)).min(max_ms);
    let jitter = exp / 5;
    let ms = rng.gen_range(exp - jitter..=exp + jitter).min(max_ms);
    Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)).min(secs(u64::MAX))
}
