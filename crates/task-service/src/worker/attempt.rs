//! One attempt of one claimed task: resolve where it goes and how it is
//! signed, respect the business system's rate limit and the per-host cap,
//! make the request, judge the response and decide the next step.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::Method;

use super::Worker;
use crate::delivery::{AttemptReport, DeliveryErrorKind, OutboundRequest, SigningSecret};
use crate::domain::retry::{AttemptOutcome, ErrorKind, ResponsePolicy, RetrySchedule, judge};
use crate::error::{Error, Result};
use crate::ratelimit::Decision;
use crate::store::entity::{business_system, task};
use crate::store::{AttemptRecord, NextStep, from_json_list};

/// What the writer does with a claimed task.
#[derive(Debug)]
pub enum Attempt {
    /// An attempt was made (or refused before sending): write it.
    Done(Box<AttemptRecord>),
    /// Not attempted (rate limited): back to pending, due at `at`, no attempt counted.
    Defer { task_id: String, claim_id: String, at: DateTime<Utc> },
}

/// Where a task goes and with which secrets, resolved at attempt time so an
/// endpoint's new URL or rotated secret applies to pending retries.
struct Target {
    url: String,
    method: Method,
    headers: Vec<(String, String)>,
    content_type: String,
    secrets: Vec<SigningSecret>,
}

pub(super) async fn run(worker: &Worker, task: task::Model, claim_id: String) -> Attempt {
    let started_at = worker.state.clock.now();
    // One lookup (cached) serves both the rate limit and, for a URL task, its secret.
    let business = worker.state.business_by_id(&task.business_id).await;
    let rate = business.as_ref().ok().and_then(Option::as_ref).map_or(0, |b| b.rate_limit);
    let target = match resolve(worker, &task, business).await {
        Ok(Ok(target)) => target,
        Ok(Err(refusal)) => {
            return finish(worker, &task, claim_id, started_at, refused(refusal), AttemptOutcome::Permanent);
        }
        Err(e) => {
            // Our own storage failed: not the receiver's fault, retry soon without judging it.
            tracing::warn!(task_id = %task.id, error = %e, "resolving a task's target failed");
            let report = refused("internal error resolving the target".to_owned());
            let outcome =
                AttemptOutcome::Retryable { kind: crate::domain::retry::RetryKind::Network, retry_after: None };
            return finish(worker, &task, claim_id, started_at, report, outcome);
        }
    };
    let rate = u32::try_from(rate).unwrap_or(0);
    if rate > 0
        && let Decision::Wait(wait) = worker.state.limiter.check(&task.business_id, rate).await
    {
        let at = started_at + chrono::Duration::from_std(wait).unwrap_or_default();
        return Attempt::Defer { task_id: task.id, claim_id, at };
    }
    let host = reqwest::Url::parse(&target.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let _host_slot = worker.hosts.acquire(&host).await;
    let request = OutboundRequest {
        url: target.url,
        method: target.method,
        headers: target.headers,
        content_type: target.content_type,
        body: Bytes::from(task.body.clone()),
        timeout: Duration::from_millis(u64::try_from(task.timeout_ms).unwrap_or(15_000)),
        webhook_id: task.id.clone(),
        timestamp_secs: worker.state.clock.now().timestamp(),
        secrets: target.secrets,
        // This attempt's span, which continues the creating request's trace.
        traceparent: wework_kit::telemetry::current_traceparent(),
    };
    let report = worker.deliverer.deliver(request).await;
    let policy = ResponsePolicy { retry_statuses: worker.state.settings.delivery.retry_statuses.clone() };
    let error_kind = report.error.as_ref().map(|e| match e.kind {
        DeliveryErrorKind::Timeout => ErrorKind::Timeout,
        DeliveryErrorKind::Refused => ErrorKind::SsrfBlocked,
        DeliveryErrorKind::InvalidRequest => ErrorKind::InvalidRequest,
        DeliveryErrorKind::Connect | DeliveryErrorKind::Other => ErrorKind::Network,
    });
    let outcome = judge(report.status, error_kind, report.retry_after, &policy);
    finish(worker, &task, claim_id, started_at, report, outcome)
}

fn finish(
    worker: &Worker,
    task: &task::Model,
    claim_id: String,
    started_at: DateTime<Utc>,
    report: AttemptReport,
    outcome: AttemptOutcome,
) -> Attempt {
    let intervals: Vec<u32> = from_json_list(&task.retry_intervals).unwrap_or_default();
    let schedule = RetrySchedule::new(intervals, u32::try_from(task.max_retries).unwrap_or(0));
    let done = u32::try_from(task.attempts - task.attempts_base).unwrap_or(1);
    let next = if outcome.is_success() {
        NextStep::Succeeded
    } else {
        match schedule.next_delay(done, &outcome, &mut rand::thread_rng()) {
            Some(delay) => {
                NextStep::RetryAt(worker.state.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default())
            }
            None => NextStep::Failed,
        }
    };
    let error = describe_failure(&report, &outcome);
    let headers = (!report.headers.is_empty()).then(|| crate::store::to_json(&report.headers));
    metrics::counter!("task_attempts_total", "result" => if outcome.is_success() { "success" } else { "failure" })
        .increment(1);
    metrics::counter!(
        "task_delivery_outcomes_total",
        "target" => if task.endpoint_id.is_some() { "webhook" } else { "callback" },
        "outcome" => outcome_class(&report, &outcome),
        "next" => match next {
            NextStep::Succeeded => "done",
            NextStep::RetryAt(_) => "retry",
            NextStep::Failed => "failed",
        },
    )
    .increment(1);
    metrics::histogram!("task_attempt_seconds").record(report.duration.as_secs_f64());
    Attempt::Done(Box::new(AttemptRecord {
        task_id: task.id.clone(),
        claim_id,
        business_id: task.business_id.clone(),
        tenant_id: task.tenant_id.clone(),
        endpoint_id: task.endpoint_id.clone(),
        sequence: task.attempts,
        started_at,
        duration_ms: u32::try_from(report.duration.as_millis()).unwrap_or(u32::MAX),
        http_status: report.status,
        response_headers: headers,
        response_body: (!report.body.is_empty()).then_some(report.body),
        response_truncated: report.truncated,
        error,
        next,
    }))
}

/// A small fixed set of labels for what an attempt met: `success`, the
/// delivery error kind (`timeout`, `connect`, `refused`, …), or the class of
/// an unaccepted HTTP status (`http_4xx`, …).
fn outcome_class(report: &AttemptReport, outcome: &AttemptOutcome) -> &'static str {
    if outcome.is_success() {
        return "success";
    }
    match (&report.error, report.status) {
        (Some(e), _) => e.kind.as_str(),
        (None, Some(s)) if s < 200 => "http_1xx",
        (None, Some(s)) if s < 300 => "http_2xx",
        (None, Some(s)) if s < 400 => "http_3xx",
        (None, Some(s)) if s < 500 => "http_4xx",
        (None, Some(_)) => "http_5xx",
        (None, None) => "no_response",
    }
}

/// The task's `last_error` / the execution's error message.
fn describe_failure(report: &AttemptReport, outcome: &AttemptOutcome) -> Option<String> {
    if outcome.is_success() {
        return None;
    }
    match (&report.error, report.status) {
        (Some(e), _) => Some(format!("{}: {}", e.kind.as_str(), e.message)),
        (None, Some(s)) => Some(format!("HTTP {s}")),
        (None, None) => Some("no response".to_owned()),
    }
}

/// An attempt that never left: policy refusal (endpoint disabled, deleted).
fn refused(message: String) -> AttemptReport {
    AttemptReport {
        status: None,
        headers: Vec::new(),
        body: String::new(),
        truncated: false,
        duration: Duration::ZERO,
        error: Some(crate::delivery::DeliveryError { kind: DeliveryErrorKind::Refused, message }),
        retry_after: None,
    }
}

/// `Ok(Err(reason))` when the task must fail without a request.
async fn resolve(
    worker: &Worker,
    task: &task::Model,
    business: Result<Option<business_system::Model>>,
) -> Result<std::result::Result<Target, String>> {
    let state = &worker.state;
    if let Some(endpoint_id) = &task.endpoint_id {
        let Some(endpoint) = state.endpoint_by_id(endpoint_id).await? else {
            return Ok(Err("endpoint no longer exists".to_owned()));
        };
        if endpoint.status != crate::store::status::ENABLED {
            return Ok(Err("endpoint disabled".to_owned()));
        }
        return Ok(Ok(Target {
            url: endpoint.url.clone(),
            method: Method::POST,
            headers: Vec::new(),
            content_type: "application/json".to_owned(),
            secrets: state.endpoint_secrets(&endpoint)?,
        }));
    }
    let Some(business) = business? else {
        return Ok(Err("business system no longer exists".to_owned()));
    };
    let headers: Vec<(String, String)> = match &task.headers {
        Some(h) => from_json_list(h).map_err(Error::from)?,
        None => Vec::new(),
    };
    let method = task.callback_method.as_deref().unwrap_or("POST").parse::<Method>().unwrap_or(Method::POST);
    Ok(Ok(Target {
        url: task.callback_url.clone().unwrap_or_default(),
        method,
        headers,
        content_type: task.content_type.clone().unwrap_or_else(|| "application/json".to_owned()),
        secrets: state.signing_secrets(
            &business.signing_secret,
            business.previous_signing_secret.as_deref(),
            business.previous_secret_until,
        )?,
    }))
}
