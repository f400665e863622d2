use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tonic::{Code, Status};
use wework_proto::common::OperationResult;
use wework_proto::user::AuditLog;

use super::recorder::{Shared, Sink, drain};
use super::*;
use crate::events::struct_to_json;
use crate::grpc_client::is_transient;

fn entry(n: u32) -> AuditEntry {
    AuditEntry::new("t1", "endpoint.create", "endpoint", &format!("e{n}"))
}

#[test]
fn an_entry_maps_onto_the_audit_log_message() {
    let mut e = AuditEntry::new("t1", "endpoint.update", "endpoint", "e1")
        .values(Some(json!({"url": "https://a.example"})), Some(json!({"url": "https://b.example"})))
        .failed("endpoint is disabled");
    e.user_id = Some("u1".into());
    e.meta = RequestMeta {
        ip: Some("203.0.113.9".into()),
        user_agent: Some("curl/8".into()),
        request_id: Some("req-1".into()),
    };
    let row = e.to_proto("task-service");
    assert_eq!((row.tenant_id.as_str(), row.user_id.as_str(), row.operation.as_str()), ("t1", "u1", "endpoint.update"));
    assert_eq!((row.resource_type.as_str(), row.resource_id.as_str()), ("endpoint", "e1"));
    assert_eq!(row.old_value.as_ref().map(struct_to_json), Some(json!({"url": "https://a.example"})));
    assert_eq!(row.new_value.as_ref().map(struct_to_json), Some(json!({"url": "https://b.example"})));
    assert_eq!(row.result, OperationResult::Failure as i32);
    assert_eq!(row.error_message, "endpoint is disabled");
    assert_eq!((row.ip.as_str(), row.user_agent.as_str(), row.request_id.as_str()), ("203.0.113.9", "curl/8", "req-1"));
    assert_eq!(row.service, "task-service");
    assert!(row.id.is_empty() && row.created_at.is_none());
}

#[test]
fn a_successful_entry_without_values_maps_to_empty_fields() {
    let row = AuditEntry::new("", "schedule.delete", "schedule", "s1").to_proto("task-service");
    assert_eq!(row.result, OperationResult::Success as i32);
    assert!(row.tenant_id.is_empty() && row.user_id.is_empty() && row.error_message.is_empty());
    assert!(row.old_value.is_none() && row.new_value.is_none());
    let wrapped = AuditEntry::new("t1", "x.y", "x", "1").values(None, Some(json!([1, 2]))).to_proto("s");
    assert_eq!(wrapped.new_value.as_ref().map(struct_to_json), Some(json!({"value": [1, 2]})));
}

#[test]
fn redact_replaces_listed_keys_at_any_depth() {
    let input = json!({
        "name": "billing",
        "Signing_Secret": "whsec_abc",
        "target": {"url": "https://x.example", "headers": {"authorization": "Bearer t"}},
        "list": [{"signing_secret": {"nested": true}}, {"keep": 1}]
    });
    let expected = json!({
        "name": "billing",
        "Signing_Secret": REDACTED,
        "target": {"url": "https://x.example", "headers": REDACTED},
        "list": [{"signing_secret": REDACTED}, {"keep": 1}]
    });
    assert_eq!(redact(input, &["signing_secret", "headers"]), expected);
    let untouched = json!({"secretive": "x", "value": ["signing_secret"]});
    assert_eq!(redact(untouched.clone(), &["signing_secret"]), untouched);
}

#[test]
fn request_meta_prefers_the_forwarded_address_and_bounds_lengths() {
    let mut req = Request::new(());
    req.metadata_mut().insert("x-forwarded-for", " 198.51.100.7 , 10.0.0.1".parse().expect("header"));
    req.metadata_mut().insert("user-agent", "a".repeat(600).parse().expect("header"));
    let meta = RequestMeta::from_request(&req);
    assert_eq!(meta.ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(meta.user_agent.map(|s| s.len()), Some(512));
    assert_eq!(RequestMeta::from_request(&Request::new(())), RequestMeta::default());
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (tx, mut rx) = mpsc::channel(2);
    let recorder = AuditRecorder::over(tx, Arc::default());
    let metrics = TestMetrics::default();
    metrics::with_local_recorder(&metrics, || {
        for n in 0..3 {
            recorder.record(entry(n));
        }
    });
    assert_eq!(recorder.dropped(), 1);
    assert_eq!(metrics.counts(), vec![("audit_records_dropped_total{reason=queue_full}".to_owned(), 1)]);
    assert_eq!(rx.try_recv().map(|e| e.resource_id), Ok("e0".to_owned()));
    assert_eq!(rx.try_recv().map(|e| e.resource_id), Ok("e1".to_owned()));
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn a_disabled_recorder_records_nothing_and_is_always_flushed() {
    let recorder = AuditRecorder::disabled();
    recorder.record(entry(1));
    assert_eq!(recorder.dropped(), 0);
    assert!(recorder.flush(Duration::ZERO).await);
}

#[tokio::test]
async fn rows_are_sent_in_order_and_flush_waits_for_them() {
    let sink = ScriptedSink::default();
    let sent = sink.sent.clone();
    let recorder = AuditRecorder::spawn(sink, "task-service", 16);
    for n in 0..5 {
        recorder.record(entry(n));
    }
    assert!(recorder.flush(Duration::from_secs(10)).await);
    let ids: Vec<String> = sent.lock().expect("sent").iter().map(|r| r.resource_id.clone()).collect();
    assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(recorder.dropped(), 0);
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_then_given_up() {
    let unavailable = || Err(Status::unavailable("down"));
    // Row 1 succeeds on the third call; row 2 fails three times and is dropped.
    let sink = ScriptedSink::with([unavailable(), unavailable(), Ok(()), unavailable(), unavailable(), unavailable()]);
    let (sent, calls) = (sink.sent.clone(), sink.calls.clone());
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::new(Shared::default());
    let (tx, rx) = mpsc::channel(4);
    let recorder = AuditRecorder::over(tx, shared.clone());
    recorder.record(entry(1));
    recorder.record(entry(2));
    drop(recorder);
    let slept = sleeps.clone();
    drain(rx, sink, "task-service".into(), shared.clone(), move |d| {
        slept.lock().expect("sleeps").push(d);
        async {}
    })
    .await;
    assert_eq!(*calls.lock().expect("calls"), 6);
    assert_eq!(sent.lock().expect("sent").iter().map(|r| r.resource_id.as_str()).collect::<Vec<_>>(), ["e1"]);
    let ms: Vec<u128> = sleeps.lock().expect("sleeps").iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [100, 400, 100, 400]);
    assert_eq!(shared.dropped(), 1);
}

#[tokio::test]
async fn a_rejected_row_is_dropped_at_once() {
    let sink = ScriptedSink::with([Err(Status::invalid_argument("entry.tenant_id: required"))]);
    let calls = sink.calls.clone();
    let shared = Arc::new(Shared::default());
    let (tx, rx) = mpsc::channel(1);
    AuditRecorder::over(tx.clone(), shared.clone()).record(entry(1));
    drop(tx);
    drain(rx, sink, "task-service".into(), shared.clone(), |_| async { panic!("no retry of a rejection") }).await;
    assert_eq!(*calls.lock().expect("calls"), 1);
    assert_eq!(shared.dropped(), 1);
}

#[test]
fn only_unreachable_or_slow_is_transient() {
    assert!(is_transient(&Status::unavailable("down")));
    assert!(is_transient(&Status::deadline_exceeded("slow")));
    assert!(is_transient(&Status::cancelled(tonic::TimeoutExpired(()).to_string())));
    for code in [Code::Cancelled, Code::InvalidArgument, Code::PermissionDenied, Code::Unauthenticated] {
        assert!(!is_transient(&Status::new(code, "no")), "{code:?}");
    }
}

/// Answers calls from a script (then `Ok`), keeping what it accepted.
#[derive(Default)]
struct ScriptedSink {
    script: VecDeque<Result<(), Status>>,
    sent: Arc<Mutex<Vec<AuditLog>>>,
    calls: Arc<Mutex<u32>>,
}

impl ScriptedSink {
    fn with(script: impl IntoIterator<Item = Result<(), Status>>) -> Self {
        Self { script: script.into_iter().collect(), ..Self::default() }
    }
}

impl Sink for ScriptedSink {
    async fn send(&mut self, row: AuditLog) -> Result<(), Status> {
        *self.calls.lock().expect("calls") += 1;
        let answer = self.script.pop_front().unwrap_or(Ok(()));
        if answer.is_ok() {
            self.sent.lock().expect("sent").push(row);
        }
        answer
    }
}

/// A metrics recorder that keeps counter increments as `name{label=value}`.
#[derive(Default)]
struct TestMetrics(Arc<Mutex<Vec<(String, u64)>>>);

impl TestMetrics {
    fn counts(&self) -> Vec<(String, u64)> {
        self.0.lock().expect("metrics").clone()
    }
}

struct TestCounter(String, Arc<Mutex<Vec<(String, u64)>>>);

impl metrics::CounterFn for TestCounter {
    fn increment(&self, value: u64) {
        let mut all = self.1.lock().expect("metrics");
        match all.iter_mut().find(|(k, _)| *k == self.0) {
            Some((_, n)) => *n += value,
            None => all.push((self.0.clone(), value)),
        }
    }
    fn absolute(&self, _value: u64) {}
}

impl metrics::Recorder for TestMetrics {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        metrics::Counter::from_arc(Arc::new(TestCounter(name, self.0.clone())))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}
