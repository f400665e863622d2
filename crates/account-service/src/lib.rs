//! The account service: protocol instances, WeWork accounts and their QR
//! login state machine, heartbeats with offline detection and recovery, and
//! each account's conversations, contacts and groups.
//! Layers point one way: `grpc` → `domain` → `store`; `worker` runs the
//! watchdog; `integrations` talks to the user service and the instances.

pub mod directory_sync;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod integrations;
pub mod lifecycle;
pub mod settings;
pub mod state;
pub mod store;
pub mod worker;

use std::sync::Arc;

use wework_kit::audit::AuditRecorder;
use wework_kit::auth::{Authenticator, ServiceTokenMinter};
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::events::EventPublisher;
use wework_kit::server::Listeners;
use wework_kit::shutdown::Shutdown;

pub use settings::Settings;
pub use state::AppState;

/// Fully-qualified gRPC service names, reported SERVING by grpc.health.v1.
pub const SERVICE_NAMES: &[&str] = &[
    "wework.account.v1.InstanceService",
    "wework.account.v1.AccountService",
    "wework.account.v1.ConversationService",
    "wework.account.v1.DirectoryService",
];

/// Connects storage and the clients of the other services (all lazy, so
/// the service starts while they are still coming up).
pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = wework_kit::db::connect_and_migrate::<account_migration::Migrator>(&settings.database).await?;
    let cache = Cache::from_settings(&settings.cache)?;
    let secrets = SecretBox::from_settings(&settings.auth)?;
    let authn = Arc::new(Authenticator::from_settings(&settings.auth, clock.clone())?);
    // Service tokens are checked by another process against its own clock,
    // so they are minted on the system clock, not the injected one.
    let minter = Arc::new(ServiceTokenMinter::new(
        settings::SERVICE_NAME,
        &wework_kit::auth::internal_secret(&settings.auth)?,
        std::time::Duration::from_secs(settings.auth.service_token_ttl_secs),
    ));
    let quota = integrations::AccountQuota::new(&settings.auth.user_service_url, minter.clone(), cache.clone())?;
    let providers = integrations::Providers::new(settings.provider.driver_config())
        .map_err(|e| anyhow::anyhow!("provider http client: {e}"))?;
    let events = match settings.integrations.task_service_url() {
        Some(url) => Some(Arc::new(EventPublisher::new(url, minter.clone(), settings::SERVICE_NAME, clock.clone())?)),
        None => {
            tracing::warn!("integrations.task_service_url is empty: status events stay unpublished in the outbox");
            None
        }
    };
    let audit = AuditRecorder::new(&settings.auth.user_service_url, minter, settings::SERVICE_NAME)?;
    Ok(AppState { db, cache, clock, settings: Arc::new(settings), authn, secrets, quota, providers, events, audit })
}

/// The tonic services of this crate, for [`wework_kit::server::serve`] or
/// for composing into the all-in-one binary.
pub fn routes(state: &AppState) -> tonic::service::Routes {
    use wework_proto::account::{
        account_service_server::AccountServiceServer, conversation_service_server::ConversationServiceServer,
        directory_service_server::DirectoryServiceServer, instance_service_server::InstanceServiceServer,
    };
    let api = grpc::Api::new(state.clone());
    tonic::service::Routes::new(InstanceServiceServer::new(api.clone()))
        .add_service(AccountServiceServer::new(api.clone()))
        .add_service(ConversationServiceServer::new(api.clone()))
        .add_service(DirectoryServiceServer::new(api))
}

/// Starts the watchdog (unless disabled), then serves on already-bound
/// listeners until `shutdown` triggers.
pub async fn serve(state: AppState, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    if state.settings.watchdog.enabled {
        worker::spawn(&state, &shutdown);
    }
    let server = state.settings.server.clone();
    wework_kit::server::serve(settings::SERVICE_NAME, listeners, &server, routes(&state), SERVICE_NAMES, shutdown)
        .await?;
    if !state.audit.flush(std::time::Duration::from_secs(5)).await {
        tracing::warn!("audit rows still queued at shutdown were dropped");
    }
    Ok(())
}

/// Applies this service's pending migrations to `database` and returns,
/// without starting anything: `account-service migrate`.
pub async fn migrate(database: &wework_kit::settings::DatabaseSettings) -> Result<(), sea_orm::DbErr> {
    wework_kit::db::migrate::<account_migration::Migrator>(database).await
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await?;
    tracing::info!(grpc = %listeners.grpc_addr(), http = %listeners.http_addr(), "account-service listening");
    let state = build(settings, wework_kit::clock::system()).await?;
    serve(state, listeners, shutdown).await
}
