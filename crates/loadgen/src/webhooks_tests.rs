//! The pure half of `loadgen webhooks` (what the sink counts, how a run is
//! summarised) and the sink over a real loopback socket.

use chrono::TimeZone as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// `t0 + ms` milliseconds.
fn at(ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).single().expect("valid time") + chrono::Duration::milliseconds(ms)
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("bounds")
}

fn created(id: &str, due_ms: i64) -> Created {
    Created { id: id.into(), due: at(due_ms) }
}

fn blank_report() -> WebhookReport {
    let empty = latency_ms(&histogram());
    WebhookReport {
        targets: vec!["http://127.0.0.1:50055".into()],
        sink: "http://127.0.0.1:1/hook".into(),
        run_id: "r".into(),
        tasks: 4,
        batch: None,
        concurrency: 2,
        connections: 1,
        created: 0,
        create_errors: BTreeMap::new(),
        create_secs: 0.0,
        create_rps: 0.0,
        create_latency_ms: empty.clone(),
        delivered: 0,
        missing: 0,
        duplicates: 0,
        unexpected: 0,
        e2e_secs: 0.0,
        delivered_rps: 0.0,
        lag_after_creates_secs: 0.0,
        due_to_attempt_ms: empty,
        timed_out: false,
    }
}

#[test]
fn the_sink_counts_repeats_and_unlabelled_requests() {
    let sink = Sink::default();
    sink.record(Some("a"), at(10));
    sink.record(Some("a"), at(20));
    sink.record(Some("b"), at(15));
    sink.record(None, at(16));
    let (received, unlabelled) = sink.snapshot();
    assert_eq!(received.get("a"), Some(&Receipt { first_at: at(10), count: 2 }));
    assert_eq!(received.get("b"), Some(&Receipt { first_at: at(15), count: 1 }));
    assert_eq!(unlabelled, 1);
    assert_eq!(sink.distinct(), 2);
    assert_eq!(sink.missing(&[created("a", 0), created("c", 0)]), 1);
}

#[test]
fn a_run_is_summarised_from_creates_and_receipts() {
    let mut latency_us = histogram();
    for us in [2_000, 4_000, 6_000] {
        latency_us.record(us).expect("in range");
    }
    let outcome = CreateOutcome {
        created: vec![created("a", 0), created("b", 100), created("c", 200)],
        errors: BTreeMap::from([("Unavailable".to_owned(), ErrorCount { count: 1, sample: "busy".into() })]),
        latency_us,
        started: at(0),
        finished: at(500),
    };
    // `a` due at 0 arrives at 50 ms then again; `b` due at 100 arrives at 2000 ms; `c` never;
    // `x` was not created by this run.
    let received = HashMap::from([
        ("a".to_owned(), Receipt { first_at: at(50), count: 3 }),
        ("b".to_owned(), Receipt { first_at: at(2_000), count: 1 }),
        ("x".to_owned(), Receipt { first_at: at(60), count: 1 }),
    ]);
    let mut report = blank_report();
    summarize(&mut report, &outcome, &received, 2);

    assert_eq!((report.created, report.delivered, report.missing), (3, 2, 1));
    assert_eq!((report.duplicates, report.unexpected), (2, 3));
    assert_eq!(report.create_errors["Unavailable"].count, 1);
    assert!((report.create_secs - 0.5).abs() < 1e-9);
    assert!((report.create_rps - 6.0).abs() < 1e-9);
    // Two delivered over first create (0) → last delivery (2000 ms).
    assert!((report.e2e_secs - 2.0).abs() < 1e-9);
    assert!((report.delivered_rps - 1.0).abs() < 1e-9);
    assert!((report.lag_after_creates_secs - 1.5).abs() < 1e-9);
    let d = &report.due_to_attempt_ms;
    assert!((d.p50 - 50.0).abs() < 0.1, "p50 {}", d.p50);
    assert!((d.max - 1_900.0).abs() < 1.0, "max {}", d.max);
    assert!((report.create_latency_ms.p50 - 4.0).abs() < 0.01);
}

#[test]
fn an_attempt_stamped_before_its_due_time_counts_as_zero_latency() {
    let outcome = CreateOutcome {
        created: vec![created("a", 100)],
        errors: BTreeMap::new(),
        latency_us: histogram(),
        started: at(0),
        finished: at(10),
    };
    let received = HashMap::from([("a".to_owned(), Receipt { first_at: at(99), count: 1 })]);
    let mut report = blank_report();
    summarize(&mut report, &outcome, &received, 0);
    assert_eq!(report.delivered, 1);
    assert_eq!(report.due_to_attempt_ms.max, 0.0);
}

#[test]
fn nothing_delivered_reports_zero_rates_not_nan() {
    let outcome = CreateOutcome {
        created: vec![created("a", 0)],
        errors: BTreeMap::new(),
        latency_us: histogram(),
        started: at(0),
        finished: at(0),
    };
    let mut report = blank_report();
    report.timed_out = true;
    summarize(&mut report, &outcome, &HashMap::new(), 0);
    assert_eq!((report.delivered, report.missing), (0, 1));
    assert_eq!((report.create_rps, report.delivered_rps, report.e2e_secs), (0.0, 0.0, 0.0));
    assert_eq!(report.due_to_attempt_ms.p99, 0.0);
    let text = report.render_text();
    assert!(text.contains("TIMED OUT"), "{text}");
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["missing"], 1);
    assert_eq!(json["due_to_attempt_ms"]["p99"], 0.0);
}

#[test]
fn a_service_token_is_a_signed_jwt() {
    let token = service_token("bench-secret-0123456789abcdef", Duration::from_secs(60)).expect("token");
    assert_eq!(token.split('.').count(), 3, "{token}");
    assert_ne!(token, service_token("another-secret-0123456789abcdef", Duration::from_secs(60)).expect("token"));
}

#[tokio::test]
async fn the_sink_answers_ok_and_records_the_webhook_id() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    let sink = Sink::default();
    let server = tokio::spawn(axum::serve(listener, sink.router()).into_future());

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = "POST /hook HTTP/1.1\r\nhost: sink\r\nwebhook-id: 01J0TASK\r\ncontent-type: application/json\r\n\
                   content-length: 7\r\nconnection: close\r\n\r\n{\"i\":1}";
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    server.abort();

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    let (received, unlabelled) = sink.snapshot();
    assert_eq!(received.get("01J0TASK").map(|r| r.count), Some(1));
    assert_eq!(unlabelled, 0);
}
