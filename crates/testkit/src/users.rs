//! A real user service in the test's process, trusting the other services'
//! service tokens (same internal secret): it issues the platform admin's
//! and tenant administrators' tokens, answers quota checks and holds the
//! tenants' config.

use secrecy::SecretString;
use tonic::transport::Channel;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::user::{
    self as upb, auth_service_client::AuthServiceClient, tenant_service_client::TenantServiceClient,
    user_service_client::UserServiceClient,
};

use crate::authed;

pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd-For-Tests";
/// The password of every tenant administrator [`UserService::tenant`] creates.
pub const PASSWORD: &str = "Correct-Horse-9";

/// A user service on 127.0.0.1:0 that trusts the services' tokens.
pub struct UserService {
    pub channel: Channel,
    pub grpc_url: String,
    shutdown: Shutdown,
    _db: testing::TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl Drop for UserService {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A tenant and the token of one of its administrators.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub token: String,
}

/// The quotas a test tenant gets.
#[derive(Debug, Clone, Copy)]
pub struct TenantLimits {
    pub max_accounts: i32,
    pub max_daily_messages: i32,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self { max_accounts: 100, max_daily_messages: 1_000 }
    }
}

impl UserService {
    /// On the system clock: it checks tokens the other services mint on it.
    pub async fn spawn(internal_secret: &SecretString) -> Self {
        let db = testing::fresh_database("user").await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut settings = user_service::Settings::default();
        settings.server = testing::server_settings();
        settings.database = db.settings.clone();
        settings.cache = testing::cache_settings("user");
        settings.auth.data_dir = data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(internal_secret.clone());
        settings.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
        settings.integrations.task_service_url = None;
        // Tests move the other services' clocks forward by minutes.
        settings.tokens.access_ttl_secs = 3600;
        settings.tokens.refresh_ttl_secs = 7200;
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
        let grpc_url = format!("http://{}", listeners.grpc_addr());
        let state = user_service::build(settings, wework_kit::clock::system()).await.expect("build user service");
        let shutdown = Shutdown::new();
        tokio::spawn(user_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(grpc_url.clone()).expect("url").connect_lazy();
        Self { channel, grpc_url, shutdown, _db: db, _data_dir: data_dir }
    }

    async fn login(&self, tenant_code: &str, login: &str, password: &str) -> String {
        let req = upb::LoginRequest {
            tenant_code: tenant_code.into(),
            login: login.into(),
            password: password.into(),
            ..Default::default()
        };
        let resp = AuthServiceClient::new(self.channel.clone()).login(req).await.expect("login");
        resp.into_inner().tokens.expect("tokens").access_token
    }

    /// The platform super-admin's access token.
    pub async fn admin_token(&self) -> String {
        self.login("platform", "admin", ADMIN_PASSWORD).await
    }

    /// A tenant with `limits` and the token of its administrator (role `admin`).
    pub async fn tenant(&self, admin: &str, code: &str, limits: TenantLimits) -> Tenant {
        let mut tenants = TenantServiceClient::new(self.channel.clone());
        let create = upb::CreateTenantRequest {
            tenant_code: code.into(),
            name: format!("Tenant {code}"),
            max_accounts: limits.max_accounts,
            max_daily_messages: limits.max_daily_messages,
            ..Default::default()
        };
        let tenant = tenants.create_tenant(authed(admin, create)).await.expect("create tenant").into_inner();
        // Set again explicitly: a limit of 0 at creation means "the default".
        let update = upb::UpdateTenantRequest {
            tenant_id: tenant.id.clone(),
            max_accounts: Some(limits.max_accounts),
            ..Default::default()
        };
        tenants.update_tenant(authed(admin, update)).await.expect("update tenant");
        let user = upb::CreateUserRequest {
            tenant_id: tenant.id.clone(),
            username: format!("{code}-admin"),
            email: format!("{code}-admin@example.com"),
            display_name: format!("{code} admin"),
            password: PASSWORD.into(),
            roles: vec!["admin".into()],
            ..Default::default()
        };
        UserServiceClient::new(self.channel.clone()).create_user(authed(admin, user)).await.expect("create user");
        let token = self.login(code, &format!("{code}-admin"), PASSWORD).await;
        Tenant { id: tenant.id, token }
    }

    /// Sets the tenant's config (e.g. `{"throttle": {...}}`).
    pub async fn set_config(&self, admin: &str, tenant_id: &str, config: serde_json::Value) {
        let update = upb::UpdateTenantRequest {
            tenant_id: tenant_id.into(),
            config: wework_kit::events::json_to_struct(&config),
            ..Default::default()
        };
        TenantServiceClient::new(self.channel.clone())
            .update_tenant(authed(admin, update))
            .await
            .expect("update tenant");
    }
}
