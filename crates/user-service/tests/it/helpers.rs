//! `spawn_app()`: a user service on 127.0.0.1:0 with a fresh database, a
//! manual clock the test drives, and typed clients.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use user_service::Settings;
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::clock::ManualClock;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::user::{
    self as pb, api_key_service_client::ApiKeyServiceClient, audit_service_client::AuditServiceClient,
    auth_service_client::AuthServiceClient, quota_service_client::QuotaServiceClient,
    role_service_client::RoleServiceClient, tenant_service_client::TenantServiceClient,
    user_service_client::UserServiceClient,
};

pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd-For-Tests";
pub const PASSWORD: &str = "Correct-Horse-9";

pub struct TestApp {
    pub channel: Channel,
    pub clock: Arc<ManualClock>,
    pub minter: ServiceTokenMinter,
    pub shutdown: Shutdown,
    pub admin_token: String,
    _db: testing::TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Everything every test's services logged (debug and up), so tests can
/// assert that no secret ever reaches the logs.
static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,h2=info,hyper=info,tower=info,sqlx=info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    });
}

/// The logs captured so far in this test binary.
pub fn captured_logs() -> String {
    let buf = LOGS.get().expect("capture installed by spawn_app");
    String::from_utf8_lossy(&buf.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with settings adjusted by the test (e.g. a Redis that is down).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    capture_logs();
    let db = testing::fresh_database("user").await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let secret = wework_kit::crypto::random_token(32);
    let mut settings = Settings::default();
    settings.server = testing::server_settings();
    settings.database = db.settings.clone();
    settings.cache = testing::cache_settings("user");
    settings.auth.data_dir = data_dir.path().to_path_buf();
    settings.auth.internal_secret = Some(SecretString::from(secret.clone()));
    settings.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    // No task center here: tests that exercise the webhook hook opt in.
    settings.integrations.task_service_url = None;
    customize(&mut settings);
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time")));
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
    let addr = listeners.grpc_addr();
    let state = user_service::build(settings, clock.shared()).await.expect("build");
    let shutdown = Shutdown::new();
    tokio::spawn(user_service::serve(state, listeners, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect_lazy();
    let minter = ServiceTokenMinter::with_clock(
        "test-service",
        &SecretString::from(secret),
        std::time::Duration::from_secs(300),
        clock.shared(),
    );
    let mut app =
        TestApp { channel, clock, minter, shutdown, admin_token: String::new(), _db: db, _data_dir: data_dir };
    app.admin_token = app.login("platform", "admin", ADMIN_PASSWORD).await.expect("admin login").access_token;
    app
}

/// A request carrying a bearer token.
pub fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    req.metadata_mut().insert("authorization", value);
    req
}

impl TestApp {
    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel.clone())
    }
    pub fn tenants(&self) -> TenantServiceClient<Channel> {
        TenantServiceClient::new(self.channel.clone())
    }
    pub fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel.clone())
    }
    pub fn roles(&self) -> RoleServiceClient<Channel> {
        RoleServiceClient::new(self.channel.clone())
    }
    pub fn api_keys(&self) -> ApiKeyServiceClient<Channel> {
        ApiKeyServiceClient::new(self.channel.clone())
    }
    pub fn quota(&self) -> QuotaServiceClient<Channel> {
        QuotaServiceClient::new(self.channel.clone())
    }
    pub fn audit(&self) -> AuditServiceClient<Channel> {
        AuditServiceClient::new(self.channel.clone())
    }

    /// A timestamp `from_now` after the test clock's now.
    pub fn clock_ts(&self, from_now: chrono::Duration) -> prost_types::Timestamp {
        use wework_kit::clock::Clock;
        let t = self.clock.now() + from_now;
        prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
    }

    /// A fresh service token (what another service would send).
    pub fn service_token(&self) -> String {
        self.minter.mint()
    }

    pub async fn login(&self, tenant: &str, login: &str, password: &str) -> Result<pb::TokenPair, Status> {
        let resp = self
            .auth()
            .login(pb::LoginRequest {
                tenant_code: tenant.into(),
                login: login.into(),
                password: password.into(),
                ..Default::default()
            })
            .await?;
        Ok(resp.into_inner().tokens.expect("tokens"))
    }

    /// Creates a tenant and a user in it holding `role`; returns (tenant, user, token).
    pub async fn tenant_with_user(&self, code: &str, username: &str, role: &str) -> (pb::Tenant, pb::User, String) {
        let tenant = self.create_tenant(code, 1000).await;
        let user = self.create_user(&self.admin_token, &tenant.id, username, role).await;
        let token = self.login(code, username, PASSWORD).await.expect("login").access_token;
        (tenant, user, token)
    }

    pub async fn create_tenant(&self, code: &str, max_daily_messages: i32) -> pb::Tenant {
        self.tenants()
            .create_tenant(authed(
                &self.admin_token,
                pb::CreateTenantRequest {
                    tenant_code: code.into(),
                    name: format!("Tenant {code}"),
                    max_accounts: 5,
                    max_daily_messages,
                    ..Default::default()
                },
            ))
            .await
            .expect("create tenant")
            .into_inner()
    }

    pub async fn create_user(&self, token: &str, tenant_id: &str, username: &str, role: &str) -> pb::User {
        self.users()
            .create_user(authed(
                token,
                pb::CreateUserRequest {
                    tenant_id: tenant_id.into(),
                    username: username.into(),
                    email: format!("{username}@example.com"),
                    display_name: username.into(),
                    password: PASSWORD.into(),
                    roles: vec![role.into()],
                    ..Default::default()
                },
            ))
            .await
            .expect("create user")
            .into_inner()
    }
}

pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "unexpected status: {s:?}");
            s
        }
    }
}

/// The field names of an InvalidArgument's BadRequest violations.
pub fn violated_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}
