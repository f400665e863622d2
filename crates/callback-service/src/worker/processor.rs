//! The processor: claims due events under a lease (`store::CLAIM`: a guid's
//! status events one at a time, in the order received), routes each one
//! (`domain::routing`), publishes it to the tenant as `callback.<type>` /
//! `wecom.<type>` (the tenant event id is the callback event id, so the
//! task center delivers it once however often processing repeats), and
//! writes the outcome conditional on its claim. A transient failure puts
//! the event back with backoff (bounded by `processor.max_attempts`, then
//! `failed`); a permanent one fails it at once. A processor that dies
//! mid-event loses its lease; the event is claimed again and processed
//! again, which every downstream call tolerates.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use wework_client::CallbackEnvelope;
use wework_kit::shutdown::Shutdown;

use crate::domain::routing::{self, Route, Unroutable};
use crate::domain::status::{EventStatus, retry_delay};
use crate::domain::wecom_xml;
use crate::integrations::CallError;
use crate::state::AppState;
use crate::store::{self, Outcome, entity::event};

/// How often expired leases are returned (in ticks of an idle processor).
const RECLAIM_EVERY: u32 = 20;

pub fn spawn(state: AppState, shutdown: Shutdown) {
    shutdown.spawn_worker("callback-processor", run(state, shutdown.clone()));
}

async fn run(state: AppState, shutdown: Shutdown) {
    {
        let idle = Duration::from_millis(state.settings.processor.tick_ms);
        let mut ticks = 0u32;
        loop {
            if ticks.is_multiple_of(RECLAIM_EVERY)
                && let Err(e) = reclaim(&state).await
            {
                tracing::warn!(error = %e, "reclaiming expired callback leases failed");
            }
            ticks = ticks.wrapping_add(1);
            let busy = match tick(&state).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "callback processor tick failed");
                    false
                }
            };
            if busy {
                if shutdown.is_triggered() {
                    return;
                }
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = state.stored.notified() => {}
                () = tokio::time::sleep(idle) => {}
            }
        }
    }
}

/// Returns events whose processor died (lease expired) to `received`;
/// returns how many.
pub async fn reclaim(state: &AppState) -> Result<u64, sea_orm::DbErr> {
    store::reclaim_expired(state.db.writer(), state.clock.now()).await
}

/// Claims one batch of due events and processes it; returns how many were
/// claimed. A claim holds at most one status event per guid (the claim
/// skips one while an earlier one waits), and the other kinds do not
/// depend on each other's order, so the whole batch runs concurrently, up
/// to `processor.concurrency` at once.
pub async fn tick(state: &AppState) -> Result<usize, sea_orm::DbErr> {
    let cfg = &state.settings.processor;
    let now = state.clock.now();
    let lease_until = now + chrono::Duration::seconds(i64::try_from(cfg.lease_secs).unwrap_or(60));
    let (claim, rows) =
        store::claim_due(state.db.writer(), &state.worker_id, now, lease_until, cfg.claim_batch).await?;
    let claimed = rows.len();
    if claimed == 0 {
        return Ok(0);
    }
    let claim_id = claim.claim_id.as_str();
    let work = futures::stream::iter(rows).for_each_concurrent(cfg.concurrency, |row| async move {
        let outcome = process(state, &row).await;
        let now = state.clock.now();
        let written =
            wework_kit::db::retry_transient(|| store::finish(state.db.writer(), &row, claim_id, outcome.clone(), now))
                .await;
        match written {
            Ok(true) => record(&row, &outcome, now),
            Ok(false) => tracing::info!(event = %row.id, "lease lost before the outcome was written"),
            Err(e) => tracing::warn!(event = %row.id, error = %e, "outcome not written; the lease will expire"),
        }
    });
    keep_leased(state, claim_id, work).await;
    Ok(claimed)
}

/// Runs `work` while renewing the claim's lease every third of its length,
/// so a batch held up by a degraded callee is not taken over and processed
/// twice meanwhile.
async fn keep_leased(state: &AppState, claim_id: &str, work: impl std::future::Future<Output = ()>) {
    let lease_secs = state.settings.processor.lease_secs;
    let every = Duration::from_secs((lease_secs / 3).max(1));
    let claims = [claim_id.to_owned()];
    let renew = || async {
        let until = state.clock.now() + chrono::Duration::seconds(i64::try_from(lease_secs).unwrap_or(60));
        if let Err(e) = store::renew_leases(state.db.writer(), &claims, until).await {
            tracing::warn!(error = %e, "renewing callback leases failed");
        }
    };
    wework_kit::lease::while_renewing(every, renew, work).await;
}

fn record(row: &event::Model, outcome: &Outcome, now: DateTime<Utc>) {
    let status = if outcome.retry_at.is_some() { "retry" } else { outcome.status.as_str() };
    metrics::counter!("callback_processed_total", "type" => row.event_type.clone(), "status" => status).increment(1);
    if outcome.retry_at.is_none() {
        let lag = (now - row.received_time).num_milliseconds().max(0) as f64 / 1e3;
        metrics::histogram!("callback_processing_lag_seconds").record(lag);
    }
}

/// What processing one event came to (never an error: failures are outcomes).
async fn process(state: &AppState, row: &event::Model) -> Outcome {
    let result =
        if row.source == "wecom" { process_wecom(state, row).await } else { process_instance(state, row).await };
    match result {
        Ok(done) => done,
        Err(Failure::Permanent(error)) => outcome(row, EventStatus::Failed, None, Some(error)),
        Err(Failure::Transient(error)) => {
            let cfg = &state.settings.processor;
            let attempt = u32::try_from(row.retry_count).unwrap_or(0) + 1;
            if attempt >= cfg.max_attempts {
                return outcome(
                    row,
                    EventStatus::Failed,
                    None,
                    Some(format!("gave up after {attempt} attempts: {error}")),
                );
            }
            let jitter = rand::thread_rng().gen_range(0.8..=1.2);
            let delay = retry_delay(
                attempt,
                Duration::from_millis(cfg.retry_backoff_ms),
                Duration::from_millis(cfg.retry_backoff_max_ms),
                jitter,
            );
            let mut o = outcome(row, EventStatus::Received, None, Some(error));
            o.retry_at = Some(state.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default());
            o
        }
    }
}

enum Failure {
    Transient(String),
    Permanent(String),
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Transient(m) | CallError::NotFound(m) => Self::Transient(m),
            CallError::Permanent(m) => Self::Permanent(m),
        }
    }
}

fn outcome(row: &event::Model, status: EventStatus, parsed: Option<Value>, error: Option<String>) -> Outcome {
    Outcome {
        status,
        tenant_id: row.tenant_id.clone(),
        account_id: row.account_id.clone(),
        parsed_data: parsed.map(|p| p.to_string()),
        error,
        retry_at: None,
    }
}

async fn process_instance(state: &AppState, row: &event::Model) -> Result<Outcome, Failure> {
    let env: CallbackEnvelope = serde_json::from_str(&row.raw_data)
        .map_err(|_| Failure::Permanent("stored body is not a callback envelope".to_owned()))?;
    // Resolved and stored at ingest, with the signature check.
    let (Some(tenant), Some(account)) = (row.tenant_id.clone(), row.account_id.clone()) else {
        return Err(Failure::Permanent("event has no account".to_owned()));
    };
    let route = match routing::route(&env) {
        Ok(route) => route,
        Err(why @ Unroutable::Unknown(_)) => {
            let mut o =
                outcome(row, EventStatus::Ignored, Some(json!({"type": row.event_type})), Some(why.to_string()));
            (o.tenant_id, o.account_id) = (Some(tenant), Some(account));
            return Ok(o);
        }
        Err(Unroutable::Malformed(why)) => return Err(Failure::Permanent(why)),
    };
    let mut status = EventStatus::Processed;
    let result = match &route {
        Route::Account => {
            let r = state.downstream.report_event(&row.id, &env, row.received_time).await?;
            json!({"applied": r.applied, "note": r.note, "account_status": r.status})
        }
        Route::Delivery(receipt) => match state.downstream.delivery(receipt).await {
            Ok(applied) => json!({"applied": applied, "message_id": receipt.client_msg_id}),
            Err(CallError::NotFound(_)) => {
                // Sent outside the platform, or already purged: nothing to update.
                status = EventStatus::Ignored;
                json!({"applied": false, "note": "no message with this client_msg_id"})
            }
            Err(e) => return Err(e.into()),
        },
        Route::Inbound(message) => {
            let message_id = state.downstream.inbound(&account, message).await?;
            let r = state.downstream.report_event(&row.id, &env, row.received_time).await?;
            json!({"message_id": message_id, "conversation": {"applied": r.applied, "note": r.note}})
        }
    };
    let parsed = json!({"type": row.event_type, "notify_type": env.notify_type, "data": env.data, "result": result});
    if status == EventStatus::Processed && routing::publishes(env.notify_type) {
        let data = json!({
            "callback_event_id": row.id,
            "account_id": account,
            "guid": env.guid,
            "notify_type": env.notify_type,
            "event_type": row.event_type,
            "data": env.data,
            "result": result,
        });
        let kind = routing::tenant_event_type("instance", &row.event_type);
        state.downstream.publish(&row.id, &tenant, &kind, &account, data, row.received_time).await?;
    }
    Ok(outcome(row, status, Some(parsed), None))
}

async fn process_wecom(state: &AppState, row: &event::Model) -> Result<Outcome, Failure> {
    let fields =
        wecom_xml::parse(&row.raw_data).map_err(|_| Failure::Permanent("stored XML cannot be read".to_owned()))?;
    let data: serde_json::Map<String, Value> =
        fields.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let parsed = json!({"type": row.event_type, "app_id": row.app_id, "fields": data});
    let Some(tenant) = row.tenant_id.as_deref() else {
        return Err(Failure::Permanent("event has no tenant".to_owned()));
    };
    let kind = routing::tenant_event_type("wecom", &row.event_type);
    let subject = row.app_id.clone().unwrap_or_default();
    let payload = json!({"callback_event_id": row.id, "app_id": row.app_id, "corp_id": row.guid,
        "event_type": row.event_type, "fields": data});
    state.downstream.publish(&row.id, tenant, &kind, &subject, payload, row.received_time).await?;
    Ok(outcome(row, EventStatus::Processed, Some(parsed), None))
}
