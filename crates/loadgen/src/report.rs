//! The summary of a run, as a human table or one JSON object for scripts,
//! plus the target's memory read from `/proc` (Linux only; absent elsewhere).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::load::{ErrorCount, Outcome, Plan};

/// Latency percentiles of successful calls, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Resident memory of the target process at the end of the run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    /// High-water mark (`VmHWM`) over the process lifetime.
    pub peak_rss_kib: u64,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub method: String,
    pub concurrency: usize,
    pub connections: usize,
    pub rate: Option<f64>,
    /// The measured window: calls *sent* in it are counted.
    pub duration_secs: f64,
    /// From the end of the warmup to the last answer (the window plus the drain of calls in flight).
    pub elapsed_secs: f64,
    /// Answered calls in the measured window, successful or not.
    pub total: u64,
    pub ok: u64,
    /// Successful calls per second: the throughput figure benchmarks compare.
    pub ok_rps: f64,
    pub latency_ms: LatencyMs,
    pub errors: BTreeMap<String, ErrorCount>,
    pub memory: Option<Memory>,
}

impl Report {
    pub fn new(target: &str, method: &str, connections: usize, plan: Plan, outcome: &Outcome) -> Self {
        // Calls are counted by send time, so the window (not the wall time
        // including the drain) is the unbiased denominator.
        let secs = plan.duration.as_secs_f64();
        let h = &outcome.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let latency_ms = LatencyMs {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean().round() / 1000.0,
        };
        Self {
            target: target.to_owned(),
            method: method.to_owned(),
            concurrency: plan.concurrency,
            connections,
            rate: plan.rate,
            duration_secs: secs,
            elapsed_secs: (outcome.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            total: outcome.ok + outcome.error_total(),
            ok: outcome.ok,
            ok_rps: if secs > 0.0 { (outcome.ok as f64 / secs * 10.0).round() / 10.0 } else { 0.0 },
            latency_ms,
            errors: outcome.errors.clone(),
            memory: None,
        }
    }

    /// A few aligned lines for a terminal.
    pub fn render_text(&self) -> String {
        let l = &self.latency_ms;
        let mut out = format!(
            "target      {} {}\n\
             load        concurrency {} over {} connection(s){}\n\
             window      {:.3} s after warmup ({:.3} s until the last answer)\n\
             requests    {} total, {} ok, {} failed\n\
             throughput  {:.1} req/s (ok)\n\
             latency ms  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}\n",
            self.target,
            self.method,
            self.concurrency,
            self.connections,
            self.rate.map(|r| format!(", open loop at {r} req/s")).unwrap_or_default(),
            self.duration_secs,
            self.elapsed_secs,
            self.total,
            self.ok,
            self.total - self.ok,
            self.ok_rps,
            l.p50,
            l.p90,
            l.p99,
            l.max,
            l.mean,
        );
        for (code, e) in &self.errors {
            out.push_str(&format!("error       {code}: {} (e.g. \"{}\")\n", e.count, e.sample));
        }
        if let Some(m) = self.memory {
            out.push_str(&format!("target rss  {} KiB (peak {} KiB)\n", m.rss_kib, m.peak_rss_kib));
        }
        out
    }
}

/// Reads `VmRSS` and `VmHWM` of `pid`; `None` when the process or `/proc` is absent.
pub fn read_memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_memory(&status)
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
    };
    Some(Memory { rss_kib: field("VmRSS:")?, peak_rss_kib: field("VmHWM:")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_parsed_from_proc_status() {
        let status = "Name:\tuser-service\nVmHWM:\t   20480 kB\nVmRSS:\t   18432 kB\nThreads:\t4\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 18432, peak_rss_kib: 20480 }));
        assert_eq!(parse_memory("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn own_memory_is_readable_on_linux() {
        if cfg!(target_os = "linux") {
            let m = read_memory(std::process::id()).expect("own /proc status");
            assert!(m.rss_kib > 0 && m.peak_rss_kib >= m.rss_kib);
        }
    }
}
