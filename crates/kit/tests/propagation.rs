//! Trace-context and request-id propagation through a real server: the
//! caller's `traceparent` parents the server span, and a call made from the
//! handler through `ContextInterceptor` carries the same trace and request id;
//! a `traceparent` stored while serving (queued work) parents a worker's span
//! in the same trace.
//!
//! Tests in their own binary on purpose: it installs a process-wide
//! subscriber with an OpenTelemetry layer, and tracing's per-callsite
//! interest cache is not reliable when scoped subscribers are registered by
//! tests running in parallel.
#![allow(clippy::unwrap_used)]

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use tonic::service::Interceptor;
use tonic::{Request, Response, Status};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use wework_kit::grpc_client::ContextInterceptor;
use wework_kit::server::{Listeners, serve};
use wework_kit::settings::ServerSettings;
use wework_kit::shutdown::Shutdown;
use wework_kit::telemetry::{current_traceparent, with_parent};
use wework_proto::bench::echo_service_client::EchoServiceClient;
use wework_proto::bench::echo_service_server::{EchoService, EchoServiceServer};
use wework_proto::bench::{EchoRequest, EchoResponse};

/// Answers `<trace id of the server span> <traceparent> <x-request-id>
/// <stored traceparent> <worker trace id>`: the second and third as an
/// outgoing call from inside the handler would carry them, the last two as
/// queued work would store the context and a worker continue it.
struct TraceEcho;

#[tonic::async_trait]
impl EchoService for TraceEcho {
    async fn echo(&self, _req: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let trace_id = tracing::Span::current().context().span().span_context().trace_id().to_string();
        let outgoing = ContextInterceptor::default().call(Request::new(()))?;
        let header = |k: &str| outgoing.metadata().get(k).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
        // What queued work stores, and the trace of a worker span opened on it later.
        let stored = current_traceparent().unwrap_or_else(|| "-".to_owned());
        let worker = with_parent(tracing::info_span!("worker"), Some(&stored));
        let worker_trace = worker.context().span().span_context().trace_id().to_string();
        let message =
            format!("{trace_id} {} {} {stored} {worker_trace}", header("traceparent"), header("x-request-id"));
        Ok(Response::new(EchoResponse { message }))
    }
}

#[tokio::test]
async fn trace_context_and_request_id_flow_through_server_and_client() {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .try_init()
        .unwrap();

    let settings = ServerSettings::on_ports(0, 0);
    let listeners = Listeners::bind(&settings).await.unwrap();
    let addr = listeners.grpc_addr();
    let shutdown = Shutdown::new();
    let s = shutdown.clone();
    let routes = tonic::service::Routes::new(EchoServiceServer::new(TraceEcho));
    let server = tokio::spawn(async move { serve("trace", listeners, &settings, routes, &[], s).await });

    let mut client = EchoServiceClient::connect(format!("http://{addr}")).await.unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut req = Request::new(EchoRequest { message: String::new() });
    req.metadata_mut().insert("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01").parse().unwrap());
    req.metadata_mut().insert("x-request-id", "prop-1".parse().unwrap());
    let message = client.echo(req).await.unwrap().into_inner().message;

    let parts: Vec<&str> = message.split(' ').collect();
    assert_eq!(parts[0], trace_id, "server span is parented on the caller's trace: {message}");
    assert!(parts[1].starts_with(&format!("00-{trace_id}-")), "outgoing traceparent continues it: {message}");
    assert_ne!(parts[1], format!("00-{trace_id}-00f067aa0ba902b7-01"), "with our own span id: {message}");
    assert_eq!(parts[2], "prop-1", "outgoing call carries the request id: {message}");
    assert_eq!(parts[3], parts[1], "queued work stores the server span's traceparent: {message}");
    assert_eq!(parts[4], trace_id, "a worker span opened on it continues the trace: {message}");

    shutdown.trigger();
    server.await.unwrap().unwrap();
}
