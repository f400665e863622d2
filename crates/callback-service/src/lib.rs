//! The callback service: receives instance callbacks and official WeCom
//! callbacks over HTTP, stores each durably before acknowledging it, and
//! processes it once per dedup key — routing it to the account and message
//! services and publishing it to the tenant's webhooks through the task
//! center. Layers point one way: `ingest` / `grpc` → `domain` → `store`;
//! `worker` runs the processor; `integrations` talks to the other services.

pub mod domain;
pub mod error;
pub mod grpc;
pub mod ingest;
pub mod integrations;
pub mod settings;
pub mod state;
pub mod store;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use wework_kit::audit::AuditRecorder;
use wework_kit::auth::{Authenticator, ServiceTokenMinter};
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::events::EventPublisher;
use wework_kit::server::Listeners;
use wework_kit::shutdown::Shutdown;

pub use settings::Settings;
pub use state::AppState;

/// Fully-qualified gRPC service names, reported SERVING by grpc.health.v1.
pub const SERVICE_NAMES: &[&str] = &["wework.callback.v1.CallbackService", "wework.callback.v1.WecomAppService"];

/// Connects storage and the clients of the other services (all lazy, so
/// the service starts while they are still coming up).
pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = wework_kit::db::connect_and_migrate::<callback_migration::Migrator>(&settings.database).await?;
    let authn = Arc::new(Authenticator::from_settings(&settings.auth, clock.clone())?);
    let secrets = Arc::new(SecretBox::from_settings(&settings.auth).map_err(|e| anyhow::anyhow!("master key: {e}"))?);
    // Service tokens are checked by another process against its own clock,
    // so they are minted on the system clock, not the injected one.
    let minter = Arc::new(ServiceTokenMinter::new(
        settings::SERVICE_NAME,
        &wework_kit::auth::internal_secret(&settings.auth)?,
        Duration::from_secs(settings.auth.service_token_ttl_secs),
    ));
    let accounts = integrations::service_channel(&settings.integrations.account_service_url, &minter)?;
    let messages = integrations::service_channel(&settings.integrations.message_service_url, &minter)?;
    let publisher = match settings.integrations.task_service_url() {
        Some(url) => Some(Arc::new(EventPublisher::new(url, minter.clone(), settings::SERVICE_NAME, clock.clone())?)),
        None => {
            tracing::warn!("integrations.task_service_url is empty: callback events are not published");
            None
        }
    };
    let audit = AuditRecorder::new(&settings.auth.user_service_url, minter, settings::SERVICE_NAME)?;
    let worker_id: Arc<str> =
        format!("{}-{}", settings::SERVICE_NAME, &uuid::Uuid::now_v7().simple().to_string()[20..]).into();
    let stored = Arc::new(tokio::sync::Notify::new());
    let ingest = &settings.ingest;
    Ok(AppState {
        writer: ingest::writer::EventWriter::start(db.clone(), clock.clone(), ingest.queue, stored.clone()),
        instances: integrations::Instances::new(
            accounts.clone(),
            Duration::from_millis(ingest.guid_cache_ms),
            Duration::from_millis(ingest.unknown_guid_cache_ms),
        ),
        downstream: integrations::Downstream::new(accounts, messages, publisher),
        stored,
        db,
        clock,
        secrets,
        settings: Arc::new(settings),
        authn,
        audit,
        worker_id,
    })
}

/// The tonic services of this crate, for [`wework_kit::server::serve`] or
/// for composing into the all-in-one binary.
pub fn routes(state: &AppState) -> tonic::service::Routes {
    grpc::routes(grpc::Api::new(state.clone()))
}

/// Starts the processor (unless disabled), then serves gRPC and the ingest
/// endpoints (on the HTTP port, beside `/metrics` and `/healthz`) on
/// already-bound listeners until `shutdown` triggers.
pub async fn serve(state: AppState, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    worker::spawn(&state, &shutdown);
    let server = state.settings.server.clone();
    wework_kit::server::serve_with_http(
        settings::SERVICE_NAME,
        listeners,
        &server,
        routes(&state),
        SERVICE_NAMES,
        ingest::router(state.clone()),
        shutdown,
    )
    .await?;
    if !state.audit.flush(Duration::from_secs(5)).await {
        tracing::warn!("audit rows still queued at shutdown were dropped");
    }
    Ok(())
}

/// Applies this service's pending migrations to `database` and returns,
/// without starting anything: `callback-service migrate`.
pub async fn migrate(database: &wework_kit::settings::DatabaseSettings) -> Result<(), sea_orm::DbErr> {
    wework_kit::db::migrate::<callback_migration::Migrator>(database).await
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await?;
    tracing::info!(grpc = %listeners.grpc_addr(), http = %listeners.http_addr(), "callback-service listening");
    let state = build(settings, wework_kit::clock::system()).await?;
    serve(state, listeners, shutdown).await
}
