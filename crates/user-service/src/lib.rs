//! The user service: identity, login, tokens, RBAC, API keys, tenant quotas
//! and the audit trail. Layers point one way: `grpc` → `domain` → `store`.
//!
//! [`build`] wires the state from settings; [`routes`] gives the tonic
//! services so the all-in-one binary can compose them; [`run`] serves the
//! service standalone until the shutdown signal.

pub mod bootstrap;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod hashing;
pub mod keyring;
pub mod login;
pub mod quota;
pub mod settings;
pub mod state;
pub mod store;
pub mod webhooks;

use std::sync::Arc;

use wework_kit::auth::Authenticator;
use wework_kit::cache::Cache;
use wework_kit::clock::SharedClock;
use wework_kit::crypto::SecretBox;
use wework_kit::server::Listeners;
use wework_kit::shutdown::Shutdown;

pub use settings::Settings;
pub use state::AppState;

/// Fully-qualified gRPC service names, reported SERVING by grpc.health.v1.
pub const SERVICE_NAMES: &[&str] = &[
    "wework.user.v1.AuthService",
    "wework.user.v1.TenantService",
    "wework.user.v1.UserService",
    "wework.user.v1.RoleService",
    "wework.user.v1.ApiKeyService",
    "wework.user.v1.QuotaService",
    "wework.user.v1.AuditService",
];

/// Connects storage, loads keys and runs the first-start bootstrap.
pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    let db = wework_kit::db::connect_and_migrate::<user_migration::Migrator>(&settings.database).await?;
    let cache = Cache::from_settings(&settings.cache)?;
    let secrets = SecretBox::from_settings(&settings.auth)?;
    let keys = Arc::new(keyring::KeyRing::load(db.clone(), secrets.clone(), clock.now()).await?);
    let internal_secret = wework_kit::auth::internal_secret(&settings.auth)?;
    let key_source = Arc::new(keyring::LocalKeySource { ring: keys.clone(), clock: clock.clone() });
    let authn = Arc::new(Authenticator::new(&settings.auth, &internal_secret, key_source, clock.clone()));
    let webhooks = webhooks::TenantWebhooks::from_settings(&settings, &internal_secret, clock.clone())?;
    let notices = wework_kit::events::LiveEvents::from_cache_in(&cache, wework_kit::events::NOTICES_PREFIX);
    let state = AppState { db, cache, clock, settings: Arc::new(settings), keys, authn, secrets, webhooks, notices };
    bootstrap::run(&state).await?;
    Ok(state)
}

/// The tonic services of this crate, for [`wework_kit::server::serve`] or
/// for composing into the all-in-one binary.
pub fn routes(state: &AppState) -> tonic::service::Routes {
    use wework_proto::user::{
        api_key_service_server::ApiKeyServiceServer, audit_service_server::AuditServiceServer,
        auth_service_server::AuthServiceServer, quota_service_server::QuotaServiceServer,
        role_service_server::RoleServiceServer, tenant_service_server::TenantServiceServer,
        user_service_server::UserServiceServer,
    };
    let api = grpc::Api::new(state.clone());
    tonic::service::Routes::new(AuthServiceServer::new(api.clone()))
        .add_service(TenantServiceServer::new(api.clone()))
        .add_service(UserServiceServer::new(api.clone()))
        .add_service(RoleServiceServer::new(api.clone()))
        .add_service(ApiKeyServiceServer::new(api.clone()))
        .add_service(QuotaServiceServer::new(api.clone()))
        .add_service(AuditServiceServer::new(api))
}

/// Serves on already-bound listeners until `shutdown` triggers.
pub async fn serve(state: AppState, listeners: Listeners, shutdown: Shutdown) -> anyhow::Result<()> {
    let server = state.settings.server.clone();
    wework_kit::server::serve(settings::SERVICE_NAME, listeners, &server, routes(&state), SERVICE_NAMES, shutdown)
        .await?;
    Ok(())
}

/// Applies this service's pending migrations to `database` and returns,
/// without starting anything: `user-service migrate`.
pub async fn migrate(database: &wework_kit::settings::DatabaseSettings) -> Result<(), sea_orm::DbErr> {
    wework_kit::db::migrate::<user_migration::Migrator>(database).await
}

/// Standalone entry point: bind, build, serve.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await?;
    tracing::info!(grpc = %listeners.grpc_addr(), http = %listeners.http_addr(), "user-service listening");
    let state = build(settings, wework_kit::clock::system()).await?;
    serve(state, listeners, shutdown).await
}
