//! `loadgen webhooks`: the task center measured end to end, create over gRPC
//! → delivered to a local HTTP sink.
//!
//! The sink (axum, loopback only) answers 200 `ok` to every request and keeps,
//! per `webhook-id` header (the task id), the first receive time and how many
//! times it came. The driver creates `tasks` tasks aimed at the sink, as the
//! platform (a service token), from `concurrency` callers over `connections`
//! HTTP/2 connections spread over the replicas given, one `CreateTask` per
//! call or `batch` per `BatchCreateTasks`, then waits until every created
//! task has arrived.
//!
//! Figures: create rate; end-to-end rate = delivered / (last delivery − first
//! create); due → first attempt, where *due* is the `scheduled_at` the server
//! returned (its clock; the sink shares the machine and so the clock) and the
//! attempt is the sink's first receipt. Everything but the network driving
//! lives in [`summarize`], which is pure and unit-tested.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::load::ErrorCount;
use crate::report::LatencyMs;

/// What `loadgen webhooks` does.
#[derive(Debug, Clone)]
pub struct WebhookPlan {
    /// The task service's gRPC endpoints (loopback only), one per replica:
    /// the connections are spread over them, as a load balancer would.
    pub targets: Vec<String>,
    /// A platform service token, sent as `authorization: Bearer …`.
    pub token: String,
    pub tasks: usize,
    pub concurrency: usize,
    pub connections: usize,
    /// Tasks per `BatchCreateTasks` call; `None` = one `CreateTask` per task.
    pub batch: Option<usize>,
    /// Bounds the whole run, creates and deliveries.
    pub timeout: Duration,
    /// How long the sink keeps listening after the last task arrived, to see late duplicates.
    pub settle: Duration,
    /// Makes the run's `business_unique_id`s (`bench-<run>-<i>`) unique.
    pub run_id: String,
}

/// A platform service token signed with the task service's internal secret.
pub fn service_token(internal_secret: &str, ttl: Duration) -> anyhow::Result<String> {
    let secret = secrecy::SecretString::from(internal_secret.to_owned());
    let token = wework_kit::auth::ServiceTokenMinter::new("bench", &secret, ttl).mint();
    anyhow::ensure!(!token.is_empty(), "minting a service token failed");
    Ok(token)
}

/// One task as seen by the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub first_at: DateTime<Utc>,
    /// Attempts received; more than one is a duplicate delivery.
    pub count: u32,
}

/// What the sink has seen so far. Cheap to clone (shared state).
#[derive(Debug, Clone, Default)]
pub struct Sink {
    received: Arc<Mutex<HashMap<String, Receipt>>>,
    /// Requests without a `webhook-id` header (not from the task center).
    unlabelled: Arc<AtomicU64>,
}

impl Sink {
    pub fn record(&self, webhook_id: Option<&str>, at: DateTime<Utc>) {
        let Some(id) = webhook_id else {
            self.unlabelled.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        received
            .entry(id.to_owned())
            .and_modify(|r| r.count = r.count.saturating_add(1))
            .or_insert(Receipt { first_at: at, count: 1 });
    }

    /// Distinct ids received.
    pub fn distinct(&self) -> usize {
        self.received.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// How many of `created` have not arrived yet.
    pub fn missing(&self, created: &[Created]) -> usize {
        let received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        created.iter().filter(|c| !received.contains_key(&c.id)).count()
    }

    pub fn snapshot(&self) -> (HashMap<String, Receipt>, u64) {
        let received = self.received.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (received, self.unlabelled.load(Ordering::Relaxed))
    }

    /// Any method, any path: the task center's requests are all that arrives.
    pub fn router(&self) -> Router {
        Router::new().fallback(receive).with_state(self.clone())
    }
}

/// Reads the body like a real receiver would, then answers at once.
async fn receive(State(sink): State<Sink>, headers: HeaderMap, _body: Bytes) -> &'static str {
    // Stamped first, so the figure excludes the sink's own bookkeeping.
    let at = Utc::now();
    sink.record(headers.get("webhook-id").and_then(|v| v.to_str().ok()), at);
    "ok"
}

/// A task the service accepted: its id (the `webhook-id`) and when it was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub due: DateTime<Utc>,
}

/// What the create phase did.
#[derive(Debug)]
pub struct CreateOutcome {
    pub created: Vec<Created>,
    pub errors: BTreeMap<String, ErrorCount>,
    /// Latency of each create call, in microseconds.
    pub latency_us: Histogram<u64>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

/// The figures of a run; `summarize` fills the delivery half.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookReport {
    pub targets: Vec<String>,
    pub sink: String,
    pub run_id: String,
    pub tasks: usize,
    pub batch: Option<usize>,
    pub concurrency: usize,
    pub connections: usize,
    pub created: u64,
    pub create_errors: BTreeMap<String, ErrorCount>,
    pub create_secs: f64,
    pub create_rps: f64,
    /// Per call (a whole batch with `--batch`).
    pub create_latency_ms: LatencyMs,
    /// Created tasks that reached the sink.
    pub delivered: u64,
    pub missing: u64,
    /// Attempts beyond the first, over the run's tasks.
    pub duplicates: u64,
    /// Requests for tasks this run did not create, or with no `webhook-id`.
    pub unexpected: u64,
    /// First create → last delivery.
    pub e2e_secs: f64,
    pub delivered_rps: f64,
    /// Last create answered → last delivery: how far deliveries trail creates.
    pub lag_after_creates_secs: f64,
    pub due_to_attempt_ms: LatencyMs,
    pub timed_out: bool,
}

impl WebhookReport {
    pub fn render_text(&self) -> String {
        let (c, d) = (&self.create_latency_ms, &self.due_to_attempt_ms);
        let mut out = format!(
            "target        {} → sink {} (run {})\n\
             creates       {} of {} in {:.3} s: {:.1} tasks/s ({}, concurrency {} over {} connection(s))\n\
             create ms     p50 {:.3}  p99 {:.3}  max {:.3} per call\n\
             delivered     {} ({} missing, {} duplicates, {} unexpected){}\n\
             end to end    {:.1} tasks/s over {:.3} s (last delivery {:.3} s after the last create)\n\
             due→attempt   p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3} ms\n",
            self.targets.join(", "),
            self.sink,
            self.run_id,
            self.created,
            self.tasks,
            self.create_secs,
            self.create_rps,
            self.batch.map_or_else(|| "CreateTask".to_owned(), |k| format!("BatchCreateTasks × {k}")),
            self.concurrency,
            self.connections,
            c.p50,
            c.p99,
            c.max,
            self.delivered,
            self.missing,
            self.duplicates,
            self.unexpected,
            if self.timed_out { " — TIMED OUT" } else { "" },
            self.delivered_rps,
            self.e2e_secs,
            self.lag_after_creates_secs,
            d.p50,
            d.p90,
            d.p99,
            d.max,
            d.mean,
        );
        for (code, e) in &self.create_errors {
            out.push_str(&format!("create error  {code}: {} (e.g. \"{}\")\n", e.count, e.sample));
        }
        out
    }
}

/// Fills the delivery figures of `report` from what was created and what the
/// sink received. Pure: times come in, nothing is read from a clock.
pub fn summarize(
    report: &mut WebhookReport,
    outcome: &CreateOutcome,
    received: &HashMap<String, Receipt>,
    unlabelled: u64,
) {
    let secs = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
    let rate = |n: u64, s: f64| if s > 0.0 { (n as f64 / s * 10.0).round() / 10.0 } else { 0.0 };
    let mut latency = Histogram::new_from(&outcome.latency_us);
    let (mut delivered, mut duplicates) = (0u64, 0u64);
    let mut last: Option<DateTime<Utc>> = None;
    for task in &outcome.created {
        let Some(r) = received.get(&task.id) else { continue };
        delivered += 1;
        duplicates += u64::from(r.count.saturating_sub(1));
        last = last.max(Some(r.first_at));
        let micros = (r.first_at - task.due).num_microseconds().unwrap_or(i64::MAX).max(0);
        latency.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
    }
    let created = outcome.created.len() as u64;
    report.created = created;
    report.create_errors = outcome.errors.clone();
    report.create_secs = secs(outcome.started, outcome.finished);
    report.create_rps = rate(created, report.create_secs);
    report.create_latency_ms = latency_ms(&outcome.latency_us);
    report.delivered = delivered;
    report.missing = created - delivered;
    report.duplicates = duplicates;
    report.unexpected = unlabelled + (received.len() as u64).saturating_sub(delivered);
    report.e2e_secs = last.map_or(0.0, |l| secs(outcome.started, l));
    report.delivered_rps = rate(delivered, report.e2e_secs);
    report.lag_after_creates_secs = last.map_or(0.0, |l| secs(outcome.finished, l));
    report.due_to_attempt_ms = latency_ms(&latency);
}

/// Percentiles of a microsecond histogram, in milliseconds (all 0 when empty).
pub fn latency_ms(h: &Histogram<u64>) -> LatencyMs {
    let ms = |us: u64| us as f64 / 1000.0;
    if h.is_empty() {
        return LatencyMs { p50: 0.0, p90: 0.0, p99: 0.0, max: 0.0, mean: 0.0 };
    }
    LatencyMs {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
        mean: h.mean().round() / 1000.0,
    }
}

mod drive;
pub use drive::run;

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
