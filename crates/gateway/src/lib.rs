//! The gateway: REST/JSON for front ends over the platform's gRPC services.
//! No database; every request becomes one RPC (see [`routes`]) called with
//! the caller's own credentials, so the services stay the only authority on
//! tenants and permissions. Also the live event stream ([`sse`]) and the
//! OpenAPI document with Swagger UI ([`openapi`]).

// `Problem` is the error of every request step: built only on failure and
// turned into a response at once, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod convert;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod router;
pub mod routes;
pub mod rpc;
pub mod settings;
pub mod sse;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use wework_kit::auth::Authenticator;
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::events::{LiveEvents, NOTICES_PREFIX};
use wework_kit::ratelimit::SharedRateLimiter;
use wework_kit::shutdown::Shutdown;

pub use router::AppState;
pub use settings::Settings;

/// Redis namespace of the per-principal rate limit (shared by every replica).
const PRINCIPAL_LIMITS: &str = "ratelimit:principal:";

/// The API port and the ops port, bound before anything connects.
#[derive(Debug)]
pub struct Listeners {
    api: TcpListener,
    ops: TcpListener,
}

impl Listeners {
    pub async fn bind(settings: &Settings) -> std::io::Result<Self> {
        Ok(Self {
            api: TcpListener::bind(settings.gateway.listen_addr).await?,
            ops: TcpListener::bind(settings.server.http_addr).await?,
        })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.ops.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}

/// A ready-to-serve gateway.
pub struct Gateway {
    pub state: AppState,
    pub app: axum::Router,
}

/// Every route resolved against the descriptors; a bad table fails here.
fn bind_routes() -> anyhow::Result<Vec<router::Bound>> {
    let pool = rpc::platform_pool()?;
    let mut bound = Vec::new();
    for route in routes::table() {
        let method = rpc::Method::resolve(&pool, route.rpc)?;
        rpc::check_route(&route, &method)?;
        bound.push(router::Bound { route, method });
    }
    Ok(bound)
}

/// The OpenAPI document without starting anything (`gateway openapi`), for
/// client generators and spec validators in a build.
pub fn openapi_json() -> anyhow::Result<String> {
    Ok(openapi::document(&bind_routes()?).to_pretty_json()?)
}

/// Resolves the routes and prepares the clients. Must be called inside a
/// Tokio runtime.
pub fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Gateway> {
    let bound = bind_routes()?;
    let authn = Arc::new(Authenticator::from_settings(&settings.auth, clock.clone())?);
    let auth = auth::Auth::new(&settings, authn)?;
    let backends = rpc::Backends::new(&settings)?;
    let cache = Cache::from_settings(&settings.cache)?;
    let live = LiveEvents::from_cache(&cache);
    let per_principal = if settings.gateway.per_principal_shared {
        SharedRateLimiter::new(&cache, clock, PRINCIPAL_LIMITS)
    } else {
        SharedRateLimiter::per_replica(clock, PRINCIPAL_LIMITS)
    };
    let state = AppState::new(Arc::new(settings), backends, auth, live, per_principal);
    state.auth.forget_revoked_keys(LiveEvents::from_cache_in(&cache, NOTICES_PREFIX), state.stopping.clone());
    let app = router::build(state.clone(), bound);
    Ok(Gateway { state, app })
}

/// Serves both ports until `shutdown` triggers; open event streams end
/// then, and in-flight requests get `server.shutdown_grace_ms` to finish.
pub async fn serve(gateway: Gateway, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    let settings = gateway.state.settings.clone();
    let serving = Arc::new(AtomicBool::new(true));
    let ops_stop = shutdown.token().child_token();
    tracing::info!(api = %listeners.api_addr(), ops = %listeners.ops_addr(), "gateway serving");
    let ops = tokio::spawn(wework_kit::server::serve_ops(listeners.ops, serving.clone(), ops_stop.clone()));
    let app = gateway.app.into_make_service_with_connect_info::<SocketAddr>();
    let drain = {
        let shutdown = shutdown.clone();
        let serving = serving.clone();
        let stopping = gateway.state.stopping.clone();
        async move {
            shutdown.cancelled().await;
            serving.store(false, Ordering::SeqCst);
            stopping.cancel();
        }
    };
    let server = axum::serve(listeners.api, app).with_graceful_shutdown(drain);
    let grace = Duration::from_millis(settings.server.shutdown_grace_ms);
    let result = tokio::select! {
        r = server => r.map_err(anyhow::Error::from),
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("requests still running after the {grace:?} grace period; abandoning them");
            Ok(())
        }
    };
    ops_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(1), ops).await;
    tracing::info!("gateway stopped");
    result
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = Listeners::bind(&settings).await?;
    let gateway = build(settings, wework_kit::clock::system())?;
    serve(gateway, listeners, shutdown).await
}
