//! The message service: idempotent sends persisted at once, templates,
//! throttled batch sends, scheduled sends, the dispatcher that sends through
//! the accounts' instances (the message id is the client message id, so a
//! retry never sends twice), receipts, inbound messages and statistics.
//! Layers point one way: `grpc` → `domain` → `store`; `worker` runs the
//! dispatcher, the batch feeder and the retention job; `integrations` talks
//! to the user, account and task services and to the instances.

pub mod domain;
pub mod error;
pub mod grpc;
pub mod inserter;
pub mod integrations;
pub mod settings;
pub mod state;
pub mod store;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use wework_kit::audit::AuditRecorder;
use wework_kit::auth::{Authenticator, ServiceTokenMinter};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::events::EventPublisher;
use wework_kit::server::Listeners;
use wework_kit::shutdown::Shutdown;

pub use settings::Settings;
pub use state::AppState;

/// Fully-qualified gRPC service names, reported SERVING by grpc.health.v1.
pub const SERVICE_NAMES: &[&str] =
    &["wework.message.v1.MessageService", "wework.message.v1.TemplateService", "wework.message.v1.BatchService"];

/// Connects storage and the clients of the other services (all lazy, so
/// the service starts while they are still coming up).
pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = wework_kit::db::connect_and_migrate::<message_migration::Migrator>(&settings.database).await?;
    let cache = Cache::from_settings(&settings.cache)?;
    let authn = Arc::new(Authenticator::from_settings(&settings.auth, clock.clone())?);
    // Service tokens are checked by another process against its own clock,
    // so they are minted on the system clock, not the injected one.
    let minter = Arc::new(ServiceTokenMinter::new(
        settings::SERVICE_NAME,
        &wework_kit::auth::internal_secret(&settings.auth)?,
        Duration::from_secs(settings.auth.service_token_ttl_secs),
    ));
    let users = integrations::service_channel(&settings.auth.user_service_url, &minter)?;
    let accounts = integrations::service_channel(&settings.integrations.account_service_url, &minter)?;
    let publisher = match settings.integrations.task_service_url() {
        Some(url) => Some(Arc::new(EventPublisher::new(url, minter.clone(), settings::SERVICE_NAME, clock.clone())?)),
        None => {
            tracing::warn!("integrations.task_service_url is empty: message events are not published");
            None
        }
    };
    let audit = AuditRecorder::new(&settings.auth.user_service_url, minter, settings::SERVICE_NAME)?;
    let target_ttl = Duration::from_millis(settings.dispatch.target_cache_ms);
    let tenant_ttl = Duration::from_secs(settings.throttle.tenant_cache_secs);
    let worker_id: Arc<str> =
        format!("{}-{}", settings::SERVICE_NAME, &uuid::Uuid::now_v7().simple().to_string()[20..]).into();
    Ok(AppState {
        inserter: inserter::MessageInserter::start(db.clone(), clock.clone()),
        quota: integrations::DailyQuota::new(users.clone()),
        directory: integrations::Directory::new(accounts.clone()),
        targets: integrations::SendTargets::new(accounts, target_ttl),
        tenants: integrations::TenantPolicies::new(users, tenant_ttl),
        providers: integrations::Providers::new(settings.provider.driver_config())
            .map_err(|e| anyhow::anyhow!("provider http client: {e}"))?,
        events: integrations::MessageEvents::start(publisher),
        throttle: worker::throttle_store::ThrottleStore::new(&cache, &settings.throttle),
        db,
        cache,
        clock,
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

/// Starts the workers (unless disabled), then serves on already-bound
/// listeners until `shutdown` triggers.
pub async fn serve(state: AppState, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    worker::spawn(&state, &shutdown);
    let server = state.settings.server.clone();
    wework_kit::server::serve(settings::SERVICE_NAME, listeners, &server, routes(&state), SERVICE_NAMES, shutdown)
        .await?;
    if !state.audit.flush(Duration::from_secs(5)).await {
        tracing::warn!("audit rows still queued at shutdown were dropped");
    }
    Ok(())
}

/// Applies this service's pending migrations to `database` and returns,
/// without starting anything: `message-service migrate`.
pub async fn migrate(database: &wework_kit::settings::DatabaseSettings) -> Result<(), sea_orm::DbErr> {
    wework_kit::db::migrate::<message_migration::Migrator>(database).await
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await?;
    tracing::info!(grpc = %listeners.grpc_addr(), http = %listeners.http_addr(), "message-service listening");
    let state = build(settings, wework_kit::clock::system()).await?;
    serve(state, listeners, shutdown).await
}
