//! The operations HTTP port: `/metrics` (Prometheus text), `/healthz` and
//! `/readyz` (200 `ok` while serving, 503 once shutdown began, so a load
//! balancer drains the replica before its gRPC port closes).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Latency buckets (seconds) for every `*_seconds` histogram: from cache hits
/// to the default request timeout.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide Prometheus recorder, installed on first use. Several
/// services share one process in the all-in-one binary, so this must be
/// idempotent; every `/metrics` port renders the same registry.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install_recorder).clone()
}

fn install_recorder() -> PrometheusHandle {
    let builder = PrometheusBuilder::new();
    let builder = match builder.set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "histogram buckets rejected; latencies export as summaries");
            PrometheusBuilder::new()
        }
    };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        // Someone else installed a recorder first: /metrics then shows an
        // empty registry instead of the process failing to start.
        tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics will be empty");
    }
    handle
}

/// Serves the operations port until `stop` is cancelled.
pub(crate) async fn run(
    listener: TcpListener,
    serving: Arc<AtomicBool>,
    service_routes: Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .route("/readyz", get(health))
        .with_state(serving)
        .merge(service_routes);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

async fn metrics() -> impl IntoResponse {
    let handle = metrics_handle();
    // Upkeep drains histogram samples; doing it per scrape avoids a timer task.
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}

async fn health(State(serving): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if serving.load(Ordering::SeqCst) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    }
}
