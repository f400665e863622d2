//! A real user service in the same test process, trusting the task center's
//! service tokens (same internal secret): for the audit trail and the tenant
//! webhook sync, which cross the two services.

use secrecy::SecretString;
use tonic::transport::Channel;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::user::{
    self as upb, audit_service_client::AuditServiceClient, auth_service_client::AuthServiceClient,
};

use crate::helpers::*;

const ADMIN_PASSWORD: &str = "Admin-Passw0rd-For-Tests";

/// A user service on 127.0.0.1:0 that trusts the task center's service tokens.
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

impl UserService {
    /// On the system clock: it checks tokens the task center mints on it.
    pub async fn spawn(internal_secret: &SecretString) -> Self {
        Self::spawn_with(internal_secret, None).await
    }

    /// `task_service_url`: where tenant webhooks are synced (None: not synced).
    pub async fn spawn_with(internal_secret: &SecretString, task_service_url: Option<String>) -> Self {
        let db = testing::fresh_database("user").await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut settings = user_service::Settings::default();
        settings.server = testing::server_settings();
        settings.database = db.settings.clone();
        settings.cache = testing::cache_settings("user");
        settings.auth.data_dir = data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(internal_secret.clone());
        settings.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
        settings.integrations.task_service_url = task_service_url;
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
        let grpc_url = format!("http://{}", listeners.grpc_addr());
        let state = user_service::build(settings, wework_kit::clock::system()).await.expect("build user service");
        let shutdown = Shutdown::new();
        tokio::spawn(user_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(grpc_url.clone()).expect("url").connect_lazy();
        Self { channel, grpc_url, shutdown, _db: db, _data_dir: data_dir }
    }

    pub async fn admin_token(&self) -> String {
        let login = upb::LoginRequest {
            tenant_code: "platform".into(),
            login: "admin".into(),
            password: ADMIN_PASSWORD.into(),
            ..Default::default()
        };
        let resp = AuthServiceClient::new(self.channel.clone()).login(login).await.expect("admin login");
        resp.into_inner().tokens.expect("tokens").access_token
    }

    /// The trail of `tenant_id` (empty: the admin's own, the platform's), newest first.
    pub async fn trail(&self, token: &str, tenant_id: &str) -> Vec<upb::AuditLog> {
        let page = Some(wework_proto::common::PageRequest { page_size: 100, page_token: String::new() });
        let req = upb::ListAuditLogsRequest { tenant_id: tenant_id.to_owned(), page, ..Default::default() };
        let resp = AuditServiceClient::new(self.channel.clone()).list_audit_logs(authed(token, req)).await;
        resp.expect("list audit logs").into_inner().entries
    }
}
