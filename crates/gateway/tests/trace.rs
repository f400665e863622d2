//! One gateway request, one trace: `POST /api/v1/messages` opens the
//! gateway's `http` span, and every span it causes — the gRPC calls in the
//! message, account and user services, the dispatcher's send picked up from
//! the queue later, and the tenant webhook of its `message.sent` event
//! delivered by the task center — carries that span's trace id.
//!
//! Its own test binary: it installs the process-wide subscriber with an
//! OpenTelemetry layer exporting to memory, which no other test may share.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)] // the end-to-end tests use more of the harness than this one
#[path = "it/platform.rs"]
mod platform;

use std::collections::BTreeSet;
use std::time::Duration;

use opentelemetry::trace::{TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use wework_kit::testing::eventually;

use platform::Platform;

const DEADLINE: Duration = Duration::from_secs(60);

/// Installs the subscriber: our `info` spans (not every dependency's
/// trace-level ones) go to an in-memory exporter as they end.
fn install() -> (SdkTracerProvider, InMemorySpanExporter) {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("trace-test")).with_filter(LevelFilter::INFO);
    tracing_subscriber::registry().with(otel).try_init().unwrap();
    (provider, exporter)
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

/// The proto package of a server span's method: `/wework.user.v1.QuotaService/…` → `wework.user.v1`.
fn service_of(span: &SpanData) -> Option<String> {
    let method = attr(span, "rpc.method")?;
    let service = method.trim_start_matches('/').split('/').next()?;
    Some(service.rsplit_once('.').map_or(service, |(package, _)| package).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gateway_request_is_one_trace_across_services_and_queued_work() {
    let (provider, exporter) = install();
    let p = Platform::start().await;
    let admin = p.admin().await;
    let (_, token) = p.tenant(&admin, "traced").await;
    p.register_sim(&admin).await;
    let receiver = wework_testkit::Receiver::start().await;
    p.call(reqwest::Method::PUT, "/api/v1/endpoints", Some(&token), Some(json!({"url": receiver.url}))).await.ok();

    // An online account to send from.
    let account = p.post("/api/v1/accounts", &token, json!({"account_name": "Sales"})).await.ok().json;
    let id = account["id"].as_str().unwrap().to_owned();
    let login = p.post(&format!("/api/v1/accounts/{id}/login"), &token, json!({})).await.ok().json;
    let guid = login["account"]["guid"].as_str().unwrap().to_owned();
    p.sim.scan(&guid).await.unwrap();
    p.sim.confirm(&guid).await.unwrap();
    let path = format!("/api/v1/accounts/{id}");
    eventually(DEADLINE, || async {
        (p.get(&path, &token).await.ok().json["status"] == "ACCOUNT_STATUS_ONLINE").then_some(())
    })
    .await;

    // The one request.
    let send = json!({"account_id": id, "conversation_id": "wmCustomer1", "chat_type": "CHAT_TYPE_PRIVATE",
        "content": {"text": {"text": "traced"}}});
    let sent = p.post("/api/v1/messages", &token, send).await.ok().json;
    let message_id = sent["message"]["id"].as_str().unwrap().to_owned();

    let http = eventually(DEADLINE, || async {
        exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| s.name == "http" && attr(s, "http.route").as_deref() == Some("/api/v1/messages"))
    })
    .await;
    let trace: TraceId = http.span_context.trace_id();
    let in_trace =
        || exporter.get_finished_spans().unwrap().into_iter().filter(move |s| s.span_context.trace_id() == trace);

    // Queued work: the dispatcher's send of this message, then the task
    // center's delivery of its `message.sent` event to the tenant webhook.
    let send = eventually(DEADLINE, || async {
        in_trace().find(|s| s.name == "message.send" && attr(s, "message_id").as_deref() == Some(message_id.as_str()))
    })
    .await;
    assert_eq!(attr(&send, "account_id").as_deref(), Some(id.as_str()));
    eventually(DEADLINE, || async { in_trace().find(|s| s.name == "task.delivery") }).await;
    let _ = provider.force_flush();

    let services: BTreeSet<String> = in_trace().filter(|s| s.name == "grpc").filter_map(|s| service_of(&s)).collect();
    for expected in ["wework.message.v1", "wework.account.v1", "wework.user.v1", "wework.task.v1"] {
        assert!(services.contains(expected), "no {expected} span in the gateway request's trace: {services:?}");
    }
    let delivered = receiver.deliveries().into_iter().any(|d| d.json()["type"] == "message.sent");
    assert!(delivered, "the tenant webhook got the message.sent event");
}
