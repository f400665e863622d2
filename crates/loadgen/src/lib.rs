//! `loadgen`: drives any unary RPC of the platform from JSON (or any HTTP
//! endpoint, see [`http`]), and serves the bare echo RPC that every benchmark
//! is compared against in the same run.
//!
//! The request is encoded once from JSON through the embedded descriptor set
//! (no generated client per method), then sent as raw bytes by `concurrency`
//! workers over `connections` HTTP/2 connections for a bounded time. Targets
//! are restricted to loopback addresses.

pub mod client;
pub mod echo;
pub mod http;
pub mod load;
pub mod method;
pub mod report;
pub mod webhooks;

use std::time::Duration;

use anyhow::Context as _;
use tonic::client::Grpc;

use crate::client::{GrpcRequester, RawCall};
use crate::load::Plan;
use crate::method::Method;
use crate::report::Report;

/// The echo method, for `--echo`.
pub const ECHO_METHOD: &str = "wework.bench.v1.EchoService/Echo";
/// Where `loadgen echo-server` listens by default.
pub const ECHO_DEFAULT_ADDR: &str = "127.0.0.1:50099";
/// A run may not last longer than this, warmup included.
pub const MAX_RUN: Duration = Duration::from_secs(3600);

/// What to call: a method by name with a JSON body and request metadata.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:50051`; must be a loopback address.
    pub url: String,
    /// `package.Service/Method`.
    pub method: String,
    /// The request message in proto3 JSON.
    pub json: String,
    /// `key=value` metadata, e.g. `authorization=Bearer …`.
    pub headers: Vec<String>,
}

impl Target {
    fn prepare(&self) -> anyhow::Result<(Method, RawCall)> {
        let pool = method::platform_pool()?;
        let method = Method::resolve(&pool, &self.method)?;
        let body = method.encode_json(&self.json)?;
        let metadata = client::parse_headers(&self.headers)?;
        let call = RawCall { path: method.path.clone(), body, metadata };
        Ok((method, call))
    }
}

/// Makes one call and returns the response rendered as JSON.
pub async fn call_once(target: &Target) -> anyhow::Result<serde_json::Value> {
    let (method, call) = target.prepare()?;
    let channels = client::connect(&target.url, 1).await?;
    let channel = channels.into_iter().next().context("no connection was opened")?;
    let bytes = call
        .send(&mut Grpc::new(channel))
        .await
        .map_err(|status| anyhow::anyhow!("{} failed: {:?}: {}", target.method, status.code(), status.message()))?;
    Ok(method.decode_json(&bytes)?)
}

/// Runs a bounded load against `target` and summarises it. `pid`, when given,
/// is the target's process, whose memory is read once the run ends.
pub async fn run_load(target: &Target, connections: usize, plan: Plan, pid: Option<u32>) -> anyhow::Result<Report> {
    check_plan(plan)?;
    let (_, call) = target.prepare()?;
    let channels = client::connect(&target.url, connections.max(1)).await?;
    let requesters: Vec<_> = channels.iter().map(|c| GrpcRequester::new(c.clone(), call.clone())).collect();
    let outcome = load::run(&requesters, plan).await;
    let mut report = Report::new(&target.url, &target.method, channels.len(), plan, &outcome);
    report.memory = pid.and_then(report::read_memory);
    Ok(report)
}

/// Refuses plans the loop cannot run sensibly.
fn check_plan(plan: Plan) -> anyhow::Result<()> {
    anyhow::ensure!(plan.concurrency > 0, "concurrency must be at least 1");
    anyhow::ensure!(plan.warmup + plan.duration <= MAX_RUN, "warmup + duration must not exceed {MAX_RUN:?}");
    anyhow::ensure!(plan.rate.is_none_or(|r| r.is_finite() && r > 0.0), "rate must be a positive number");
    Ok(())
}

/// Parses `1500ms`, `10s`, `2m` or a bare number of seconds (`2.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 10s, 500ms or 2m"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in `{text}`; use ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests;
