//! The gRPC server bootstrap every service uses.
//!
//! Contract of [`serve`]:
//! - gRPC on the `grpc` listener with `grpc.health.v1` (SERVING for `""` and
//!   every name given) and server reflection (v1 and v1alpha) of every
//!   platform proto;
//! - per-RPC telemetry ([`crate::telemetry::GrpcTelemetryLayer`]), a deadline
//!   of `request_timeout_ms` on every RPC (a shorter client deadline wins), and
//!   a server-wide concurrency limit that sheds excess RPCs with `UNAVAILABLE`;
//! - `/metrics`, `/healthz`, `/readyz` on the `http` listener, beside the
//!   service's own HTTP routes if it has any ([`serve_with_http`]: the
//!   callback service's ingest endpoints);
//! - graceful shutdown when the [`Shutdown`] triggers: health goes NOT_SERVING
//!   and `/healthz` 503 first, then the gRPC port stops accepting and in-flight
//!   RPCs get up to `shutdown_grace_ms` to finish. Background workers listen
//!   to the same signal; waiting for them is the caller's job.

mod admission;
mod http;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::settings::ServerSettings;
use crate::shutdown::Shutdown;
use crate::telemetry::GrpcTelemetryLayer;

pub use http::metrics_handle;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The two bound ports of a service. Binding is separate from serving so a
/// caller (a test, the all-in-one binary) can bind port 0 and learn the real
/// ports before anything connects.
#[derive(Debug)]
pub struct Listeners {
    grpc: TcpListener,
    http: TcpListener,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
}

impl Listeners {
    pub async fn bind(settings: &ServerSettings) -> io::Result<Self> {
        let grpc = TcpListener::bind(settings.grpc_addr).await?;
        let http = TcpListener::bind(settings.http_addr).await?;
        Ok(Self { grpc_addr: grpc.local_addr()?, http_addr: http.local_addr()?, grpc, http })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }
}

/// Serves `routes` (the service's own gRPC services) until `shutdown`
/// triggers and the drain completes. `service_names` are the fully qualified
/// names reported by the health service, e.g. `wework.user.v1.UserService`.
pub async fn serve(
    name: &str,
    listeners: Listeners,
    settings: &ServerSettings,
    routes: Routes,
    service_names: &[&str],
    shutdown: Shutdown,
) -> Result<(), ServerError> {
    serve_with_http(name, listeners, settings, routes, service_names, axum::Router::new(), shutdown).await
}

/// The operations port alone (`/metrics`, `/healthz`, `/readyz`), for a
/// process without a gRPC port of its own (the gateway). `/healthz` and
/// `/readyz` answer 503 once `serving` is cleared, so load balancers drain it.
pub async fn serve_ops(listener: TcpListener, serving: Arc<AtomicBool>, stop: CancellationToken) -> io::Result<()> {
    let _ = metrics_handle();
    http::run(listener, serving, axum::Router::new(), stop).await
}

/// [`serve`], with the service's own `http_routes` merged into the HTTP
/// port (handlers may extract `ConnectInfo<SocketAddr>`). They stop
/// accepting with the rest of the port once the gRPC drain is over.
pub async fn serve_with_http(
    name: &str,
    listeners: Listeners,
    settings: &ServerSettings,
    routes: Routes,
    service_names: &[&str],
    http_routes: axum::Router,
    shutdown: Shutdown,
) -> Result<(), ServerError> {
    // Install the recorder before the first RPC records anything.
    let _ = metrics_handle();

    let (health, health_service) = tonic_health::server::health_reporter();
    let mut health_names: Vec<String> = vec![String::new()];
    health_names.extend(service_names.iter().map(|s| (*s).to_owned()));
    for n in &health_names {
        health.set_service_status(n, ServingStatus::Serving).await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(wework_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let routes = routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .prepare();

    let serving = Arc::new(AtomicBool::new(true));
    let http_stop = CancellationToken::new();
    let mut http_task = tokio::spawn(http::run(listeners.http, serving.clone(), http_routes, http_stop.clone()));

    let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = TcpIncoming::from(listeners.grpc).with_nodelay(Some(true));
    let grpc = Server::builder()
        .timeout(Duration::from_millis(settings.request_timeout_ms))
        .layer(GrpcTelemetryLayer)
        .layer(admission::AdmissionLayer::new(settings.concurrency_limit))
        .serve_with_incoming_shutdown(routes, incoming, async {
            let _ = stopped.await;
        });
    tokio::pin!(grpc);
    tracing::info!(service = name, grpc = %listeners.grpc_addr, http = %listeners.http_addr, "serving");

    let failed = tokio::select! {
        res = &mut grpc => Some(res),
        () = shutdown.cancelled() => None,
    };

    // Tell load balancers first, then stop accepting.
    serving.store(false, Ordering::SeqCst);
    for n in &health_names {
        health.set_service_status(n, ServingStatus::NotServing).await;
    }
    let result = match failed {
        Some(res) => res.map_err(ServerError::from),
        None => {
            tracing::info!(service = name, "draining in-flight RPCs");
            let _ = stop_accepting.send(());
            let grace = Duration::from_millis(settings.shutdown_grace_ms);
            match tokio::time::timeout(grace, &mut grpc).await {
                Ok(res) => res.map_err(ServerError::from),
                Err(_) => {
                    tracing::warn!(
                        service = name,
                        "RPCs still running after the {grace:?} grace period; abandoning them"
                    );
                    Ok(())
                }
            }
        }
    };

    http_stop.cancel();
    // A scraper holding a connection open must not keep us from exiting.
    match tokio::time::timeout(Duration::from_secs(1), &mut http_task).await {
        Ok(Ok(Err(e))) => tracing::warn!(service = name, error = %e, "operations HTTP server failed"),
        Ok(_) => {}
        Err(_) => {
            http_task.abort();
            tracing::warn!(service = name, "operations HTTP server did not stop in time");
        }
    }
    tracing::info!(service = name, "stopped");
    result
}
