//! Logging, tracing and request ids.
//!
//! Contract:
//! - [`init`] installs the process-wide subscriber once: human-readable or
//!   JSON lines, `RUST_LOG` overriding the configured level, plus OTLP span
//!   export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Calling it again (the
//!   all-in-one binary runs several services in one process; tests run many)
//!   is harmless: the first subscriber stays.
//! - The W3C trace-context propagator is installed globally, so incoming
//!   `traceparent` headers parent our spans ([`GrpcTelemetryLayer`]) and
//!   outgoing calls carry ours ([`crate::grpc_client::ContextInterceptor`]).
//! - Every RPC gets a request id (the caller's `x-request-id`, or a new
//!   UUIDv7), visible to handlers via [`current_request_id`] / [`request_id`]
//!   and echoed in the response.
//! - Queued work (tasks, messages) stores [`current_traceparent`] and its
//!   worker opens its span [`with_parent`] on it, so a trace survives the queue.
//! - Every worker's queue exports depth and lag gauges ([`queue`]).

mod carry;
mod layer;
pub mod queue;

use std::sync::Once;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, LogSettings};

pub use carry::{TRACEPARENT, current_traceparent, with_parent};
pub use layer::{
    GrpcTelemetry, GrpcTelemetryLayer, RequestId, current_request_id, parent_context, request_id, request_id_from,
    scope_request_id,
};

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Keeps the span exporter alive; dropping it flushes buffered spans and
/// shuts the exporter down, so keep it until `main` returns.
#[must_use = "dropping the guard stops span export"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry: span exporter shutdown failed: {e}");
        }
    }
}

/// Installs logging (and OTLP export when configured) for `service`.
pub fn init(service: &str, log: &LogSettings) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = match log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().with_current_span(true).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
    };
    let provider = otlp_provider(service, std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some());
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service.to_owned())));

    match tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init() {
        Ok(()) => TelemetryGuard { provider },
        // Already initialised by an earlier call: keep that one. Our provider
        // would never receive spans, so shut it down right away.
        Err(_) => {
            drop(TelemetryGuard { provider });
            TelemetryGuard::default()
        }
    }
}

/// Logging for tests: output captured per test, `RUST_LOG` respected
/// (default `info`). Safe to call from every test.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_test_writer())
            .try_init();
    });
}

/// An OTLP/gRPC batch exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
/// (the exporter reads the endpoint and the other standard `OTEL_*`
/// variables itself).
fn otlp_provider(service: &str, enabled: bool) -> Option<SdkTracerProvider> {
    if !enabled {
        return None;
    }
    // The tonic exporter needs a Tokio runtime to build its channel.
    if tokio::runtime::Handle::try_current().is_err() {
        eprintln!(
            "telemetry: OTEL_EXPORTER_OTLP_ENDPOINT is set but init ran outside a Tokio runtime; spans not exported"
        );
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder().with_tonic().build() {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("telemetry: cannot build the OTLP exporter, spans not exported: {e}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
        .build();
    Some(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_twice_does_not_panic() {
        // The test subscriber goes first so output stays captured; the later
        // calls still build their layers, then find a subscriber installed.
        init_for_tests();
        let settings = LogSettings { format: LogFormat::Json, level: "debug".into() };
        let _a = init("svc-a", &settings);
        let _b = init("svc-b", &LogSettings::default());
        tracing::info!("still logging");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn otlp_exporter_builds_lazily_without_a_collector() {
        let provider = otlp_provider("svc", true).expect("provider inside a runtime");
        drop(TelemetryGuard { provider: Some(provider) }); // flush + shutdown must not hang or panic
        assert!(otlp_provider("svc", false).is_none());
    }

    #[test]
    fn otlp_outside_a_runtime_is_skipped() {
        assert!(otlp_provider("svc", true).is_none());
    }
}
