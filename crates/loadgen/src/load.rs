//! The load loop: `concurrency` workers send one prepared request over and
//! over for a bounded time, each recording latency into its own histogram.
//! What "one request" is — a raw gRPC call, an HTTP request — is a
//! [`Requester`]; the loop, the schedule and the accounting are the same for all.
//!
//! Closed loop by default (a worker sends its next request when the previous
//! one answers). With a target rate the loop is open: each worker follows a
//! fixed schedule and latency is measured from the *scheduled* send time, so a
//! stalled server shows up as latency instead of silently lowering the rate
//! (no coordinated omission). Requests scheduled during the warmup are sent
//! but not recorded.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

/// How long and how hard to push.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Open-loop target in requests per second over all workers.
    pub rate: Option<f64>,
}

/// Sends one prepared request and waits for the whole answer. Each worker owns
/// a clone, so per-connection state (a gRPC channel handle) needs no locking.
pub trait Requester: Clone + Send + 'static {
    fn send(&mut self) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Why one request failed: `kind` groups the error counts (a gRPC code name,
/// an HTTP status), `detail` is kept as the sample of the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub detail: String,
}

impl Failure {
    /// Samples are cut to this many characters.
    pub const SAMPLE_CHARS: usize = 200;

    pub fn new(kind: impl Into<String>, detail: &str) -> Self {
        Self { kind: kind.into(), detail: detail.chars().take(Self::SAMPLE_CHARS).collect() }
    }
}

/// One kind of error (gRPC code, HTTP status) seen during the measured window.
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
    /// Keyed by [`Failure::kind`]: gRPC code name (`Unavailable`, …) or `HTTP 503`, ….
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

/// Runs the plan with clones of `requesters` (workers are spread over them
/// round-robin, e.g. one per connection) and returns once every worker has stopped.
pub async fn run<R: Requester>(requesters: &[R], plan: Plan) -> Outcome {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let stop_at = measure_from + plan.duration;
    let concurrency = plan.concurrency.max(1);
    let mut workers = JoinSet::new();
    for index in 0..concurrency {
        let Some(requester) = requesters.get(index % requesters.len().max(1)).cloned() else { break };
        let schedule = plan.rate.filter(|r| *r > 0.0).map(|rate| Schedule {
            // Worker k sends at start + (k + n * concurrency) / rate.
            next: start + Duration::from_secs_f64(index as f64 / rate),
            every: Duration::from_secs_f64(concurrency as f64 / rate),
        });
        let window = Window { measure_from, stop_at };
        workers.spawn(worker(requester, window, schedule));
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

async fn worker<R: Requester>(mut requester: R, window: Window, mut schedule: Option<Schedule>) -> Outcome {
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
        let result = requester.send().await;
        if intended < window.measure_from {
            continue;
        }
        match result {
            Ok(_) => {
                let micros = Instant::now().saturating_duration_since(intended).as_micros();
                out.latency_us.saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                out.ok += 1;
            }
            Err(failure) => {
                let entry = out.errors.entry(failure.kind).or_default();
                if entry.count == 0 {
                    entry.sample = failure.detail;
                }
                entry.count += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Fails every third request: the loop's accounting without any transport.
    #[derive(Clone, Default)]
    struct EveryThirdFails(Arc<AtomicU64>);

    impl Requester for EveryThirdFails {
        async fn send(&mut self) -> Result<(), Failure> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
            if n % 3 == 2 { Err(Failure::new("Third", &format!("request {n}"))) } else { Ok(()) }
        }
    }

    #[tokio::test]
    async fn any_requester_is_counted_by_outcome_and_kind() {
        let plan =
            Plan { concurrency: 3, warmup: Duration::ZERO, duration: Duration::from_millis(300), rate: Some(100.0) };
        let requester = EveryThirdFails::default();
        let outcome = run(std::slice::from_ref(&requester), plan).await;
        // 30 scheduled sends over clones sharing one counter: 20 succeed, 10 fail.
        assert_eq!(requester.0.load(Ordering::Relaxed), 30);
        assert_eq!((outcome.ok, outcome.error_total()), (20, 10));
        assert_eq!(outcome.latency_us.len(), 20);
        assert!(outcome.errors.get("Third").is_some_and(|e| e.sample.starts_with("request ")), "{:?}", outcome.errors);
    }

    #[test]
    fn failure_samples_are_cut() {
        let long = "é".repeat(Failure::SAMPLE_CHARS + 50);
        assert_eq!(Failure::new("k", &long).detail.chars().count(), Failure::SAMPLE_CHARS);
    }
}
