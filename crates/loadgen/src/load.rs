//! The load loop: `concurrency` workers send one prepared call over and over
//! for a bounded time, each recording latency into its own histogram.
//!
//! Closed loop by default (a worker sends its next request when the previous
//! one answers). With a target rate the loop is open: each worker follows a
//! fixed schedule and latency is measured from the *scheduled* send time, so a
//! stalled server shows up as latency instead of silently lowering the rate
//! (no coordinated omission). Requests scheduled during the warmup are sent
//! but not recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tonic::client::Grpc;
use tonic::transport::Channel;

use crate::client::RawCall;

/// How long and how hard to push.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Open-loop target in requests per second over all workers.
    pub rate: Option<f64>,
}

/// One gRPC error code seen during the measured window.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ErrorCount {
    pub count: u64,
    /// The first message seen with this code, to tell a misconfigured run at a glance.
    pub sample: String,
}

/// What the workers measured, merged.
#[derive(Debug)]
pub struct Outcome {
    /// Latency of successful calls, in microseconds.
    pub latency_us: Histogram<u64>,
    pub ok: u64,
    /// Keyed by gRPC code name (`Unavailable`, `Unauthenticated`, …).
    pub errors: BTreeMap<String, ErrorCount>,
    /// From the end of the warmup to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    fn empty() -> Self {
        Self { latency_us: new_histogram(), ok: 0, errors: BTreeMap::new(), elapsed: Duration::ZERO }
    }

    fn merge(&mut self, other: Outcome) {
        // Both histograms share the same bounds, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        self.ok += other.ok;
        for (code, e) in other.errors {
            let entry = self.errors.entry(code).or_default();
            if entry.count == 0 {
                entry.sample = e.sample;
            }
            entry.count += e.count;
        }
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h at 3 significant digits; values outside saturate.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

/// Runs the plan against `channels` (workers are spread over them round-robin)
/// and returns once every worker has stopped.
pub async fn run(channels: &[Channel], call: RawCall, plan: Plan) -> Outcome {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let stop_at = measure_from + plan.duration;
    let concurrency = plan.concurrency.max(1);
    let mut workers = JoinSet::new();
    for index in 0..concurrency {
        let Some(channel) = channels.get(index % channels.len().max(1)).cloned() else { break };
        let schedule = plan.rate.filter(|r| *r > 0.0).map(|rate| Schedule {
            // Worker k sends at start + (k + n * concurrency) / rate.
            next: start + Duration::from_secs_f64(index as f64 / rate),
            every: Duration::from_secs_f64(concurrency as f64 / rate),
        });
        let window = Window { measure_from, stop_at };
        workers.spawn(worker(Grpc::new(channel), call.clone(), window, schedule));
    }
    let mut total = Outcome::empty();
    while let Some(joined) = workers.join_next().await {
        if let Ok(outcome) = joined {
            total.merge(outcome);
        }
    }
    total.elapsed = Instant::now().saturating_duration_since(measure_from);
    total
}

#[derive(Debug, Clone, Copy)]
struct Window {
    measure_from: Instant,
    stop_at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Schedule {
    next: Instant,
    every: Duration,
}

async fn worker(mut grpc: Grpc<Channel>, call: RawCall, window: Window, mut schedule: Option<Schedule>) -> Outcome {
    let mut out = Outcome::empty();
    loop {
        let intended = match schedule.as_mut() {
            Some(s) => {
                let at = s.next;
                s.next += s.every;
                sleep_until(at).await;
                at
            }
            None => Instant::now(),
        };
        if intended >= window.stop_at {
            break;
        }
        let result = call.send(&mut grpc).await;
        if intended < window.measure_from {
            continue;
        }
        match result {
            Ok(_) => {
                let micros = Instant::now().saturating_duration_since(intended).as_micros();
                out.latency_us.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                out.ok += 1;
            }
            Err(status) => {
                let entry = out.errors.entry(format!("{:?}", status.code())).or_default();
                if entry.count == 0 {
                    entry.sample = status.message().chars().take(200).collect();
                }
                entry.count += 1;
            }
        }
    }
    out
}
