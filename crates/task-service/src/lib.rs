//! The task center: delayed HTTP callbacks with priorities, retry schedules,
//! Standard Webhooks signatures and SSRF guards, executed by lease-claiming
//! workers in every replica; webhook endpoints (tenant webhooks), cron
//! schedules, and the tenant event delivery every other service uses.
//! Layers point one way: `grpc` → `domain` → `store`; `worker` drives
//! `delivery` (outbound HTTP).

pub mod delivery;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod inserter;
pub mod ratelimit;
pub mod settings;
pub mod state;
pub mod store;
pub mod worker;

use std::sync::Arc;

use tokio::sync::Notify;
use wework_kit::audit::AuditRecorder;
use wework_kit::auth::{Authenticator, ServiceTokenMinter};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::events::LiveEvents;
use wework_kit::server::Listeners;
use wework_kit::shutdown::Shutdown;

pub use settings::Settings;
pub use state::AppState;

/// Fully-qualified gRPC service names, reported SERVING by grpc.health.v1.
pub const SERVICE_NAMES: &[&str] = &[
    "wework.task.v1.BusinessSystemService",
    "wework.task.v1.EndpointService",
    "wework.task.v1.TaskService",
    "wework.task.v1.ScheduleService",
    "wework.task.v1.TaskStatsService",
];

/// Connects storage, makes sure the built-in `platform` system exists, and
/// starts the audit recorder (it talks to the user service lazily).
pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = wework_kit::db::connect_and_migrate::<task_migration::Migrator>(&settings.database).await?;
    let cache = Cache::from_settings(&settings.cache)?;
    let secrets = SecretBox::from_settings(&settings.auth)?;
    let authn = Arc::new(Authenticator::from_settings(&settings.auth, clock.clone())?);
    let platform = grpc::business::ensure_platform_system(&db, &secrets, clock.now()).await?;
    let limiter = Arc::new(ratelimit::RateLimiter::new(&cache, clock.clone()));
    let live = LiveEvents::from_cache(&cache);
    // Service tokens are checked by another process against its own clock,
    // so they are minted on the system clock, not the injected one.
    let minter = ServiceTokenMinter::new(
        settings::SERVICE_NAME,
        &wework_kit::auth::internal_secret(&settings.auth)?,
        std::time::Duration::from_secs(settings.auth.service_token_ttl_secs),
    );
    let audit = AuditRecorder::new(&settings.auth.user_service_url, Arc::new(minter), settings::SERVICE_NAME)?;
    if settings.delivery.allow_loopback {
        tracing::warn!("delivery.allow_loopback is on: callbacks may reach this machine (development only)");
    }
    let inserter = inserter::TaskInserter::start(db.clone(), clock.clone());
    Ok(AppState {
        db,
        cache,
        clock,
        settings: Arc::new(settings),
        authn,
        secrets,
        limiter,
        live,
        audit,
        inserter,
        wake: Arc::new(Notify::new()),
        platform: Arc::new(platform),
    })
}

/// The tonic services of this crate, for [`wework_kit::server::serve`] or
/// for composing into the all-in-one binary.
pub fn routes(state: &AppState) -> tonic::service::Routes {
    use wework_proto::task::{
        business_system_service_server::BusinessSystemServiceServer, endpoint_service_server::EndpointServiceServer,
        schedule_service_server::ScheduleServiceServer, task_service_server::TaskServiceServer,
        task_stats_service_server::TaskStatsServiceServer,
    };
    let api = grpc::Api::new(state.clone());
    tonic::service::Routes::new(BusinessSystemServiceServer::new(api.clone()))
        .add_service(EndpointServiceServer::new(api.clone()))
        .add_service(TaskServiceServer::new(api.clone()))
        .add_service(ScheduleServiceServer::new(api.clone()))
        .add_service(TaskStatsServiceServer::new(api))
}

/// Starts the worker and the scheduler (unless disabled), then serves on
/// already-bound listeners until `shutdown` triggers.
pub async fn serve(state: AppState, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    if state.settings.worker.enabled {
        let deliverer = delivery::Deliverer::new(&state.settings.delivery, state.clock.clone())?;
        worker::spawn(&state, deliverer, &shutdown);
        worker::scheduler::spawn(&state, &shutdown);
    }
    let server = state.settings.server.clone();
    wework_kit::server::serve(settings::SERVICE_NAME, listeners, &server, routes(&state), SERVICE_NAMES, shutdown)
        .await?;
    // Audit rows of the last requests are still queued: give them a moment.
    if !state.audit.flush(std::time::Duration::from_secs(5)).await {
        tracing::warn!("audit rows still queued at shutdown were dropped");
    }
    Ok(())
}

/// Applies this service's pending migrations to `database` and returns,
/// without starting anything: `task-service migrate`.
pub async fn migrate(database: &wework_kit::settings::DatabaseSettings) -> Result<(), sea_orm::DbErr> {
    wework_kit::db::migrate::<task_migration::Migrator>(database).await
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await?;
    tracing::info!(grpc = %listeners.grpc_addr(), http = %listeners.http_addr(), "task-service listening");
    let state = build(settings, wework_kit::clock::system()).await?;
    serve(state, listeners, shutdown).await
}
