//! `spawn_app()`: an account service on 127.0.0.1:0 with a fresh database,
//! a manual clock the test drives (the watchdog is off; tests call
//! [`TestApp::tick`]), a real user service for tokens and quotas, and a
//! simulator registered as its one protocol instance. Instance callbacks
//! reach the service only when a test forwards them ([`TestApp::forward`]),
//! as the callback service will.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use account_service::worker::watchdog::{self, TickReport};
use account_service::{AppState, Settings};
use secrecy::SecretString;
use tonic::transport::Channel;
use tonic::{Request, Status};
use wework_client::NotifyType;
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::clock::ManualClock;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::account::{
    self as pb, AccountStatus, account_service_client::AccountServiceClient,
    instance_service_client::InstanceServiceClient,
};
use wework_sim::{CallbackConfig, SimConfig, Simulator};

pub use wework_testkit::{Tenant, TenantLimits, UserService, assert_code, authed};

/// The code the simulator accepts for a verification.
pub const VERIFY_CODE: &str = "123456";

pub struct TestApp {
    pub channel: Channel,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub shutdown: Shutdown,
    /// Mints the tokens of a platform service (the callback service).
    pub service: ServiceTokenMinter,
    pub users: UserService,
    /// The platform super-admin's token.
    pub admin: String,
    pub sim: Simulator,
    pub instance: pb::Instance,
    /// The internal secret every service of the test shares.
    pub secret: SecretString,
    /// How many of each guid's callbacks were forwarded already.
    forwarded: Mutex<HashMap<String, usize>>,
    events: AtomicU64,
    _db: testing::TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let secret = SecretString::from(wework_kit::crypto::random_token(32));
    let users = UserService::spawn(&secret).await;
    let db = testing::fresh_database("account").await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::default();
    settings.server = testing::server_settings();
    settings.database = db.settings.clone();
    settings.cache = testing::cache_settings("account");
    settings.auth.data_dir = data_dir.path().to_path_buf();
    settings.auth.internal_secret = Some(secret.clone());
    settings.auth.user_service_url = users.grpc_url.clone();
    settings.integrations.task_service_url = String::new();
    // Nothing listens there: callbacks reach the service only when forwarded.
    settings.provider.notify_url = "http://127.0.0.1:9/v1/callbacks/instance".to_owned();
    settings.provider.request_timeout_ms = 2_000;
    settings.watchdog.enabled = false;
    settings.watchdog.heartbeat_timeout_secs = 60;
    settings.watchdog.max_recover_attempts = 3;
    settings.watchdog.recover_backoff_secs = 10;
    settings.watchdog.recover_backoff_max_secs = 40;
    customize(&mut settings);
    // Near the real time: user tokens expire by the system clock's measure.
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).expect("now");
    let clock = Arc::new(ManualClock::new(start));
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
    let addr = listeners.grpc_addr();
    let state = account_service::build(settings, clock.shared()).await.expect("build");
    let shutdown = Shutdown::new();
    tokio::spawn(account_service::serve(state.clone(), listeners, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect_lazy();
    let service = ServiceTokenMinter::new("callback-service", &secret, Duration::from_secs(3600));
    let admin = users.admin_token().await;
    let sim = start_sim().await;
    let mut app = TestApp {
        channel,
        clock,
        state,
        shutdown,
        service,
        users,
        admin,
        sim: sim.clone(),
        instance: pb::Instance::default(),
        secret: secret.clone(),
        forwarded: Mutex::default(),
        events: AtomicU64::new(0),
        _db: db,
        _data_dir: data_dir,
    };
    app.instance = app.register(&sim, "sim-1", 0).await;
    app
}

/// A simulator without a heartbeat ticker; its callbacks go nowhere.
pub async fn start_sim() -> Simulator {
    let callbacks = CallbackConfig { max_attempts: 1, timeout: Duration::from_secs(1), ..CallbackConfig::default() };
    let config = SimConfig { heartbeat_interval: Duration::ZERO, callbacks, ..SimConfig::default() };
    Simulator::start(config).await.expect("simulator")
}

/// The fields an InvalidArgument names (its message is `field: why; …`).
pub fn violated_fields(status: &Status) -> Vec<String> {
    status.message().split("; ").filter_map(|part| part.split_once(": ").map(|(f, _)| f.to_owned())).collect()
}

pub fn status(value: i32) -> AccountStatus {
    AccountStatus::try_from(value).unwrap_or(AccountStatus::Unspecified)
}

impl TestApp {
    pub fn accounts(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::new(self.channel.clone())
    }
    pub fn instances(&self) -> InstanceServiceClient<Channel> {
        InstanceServiceClient::new(self.channel.clone())
    }

    /// Registers `sim` as an instance (`max_accounts` 0: the default).
    pub async fn register(&self, sim: &Simulator, name: &str, max_accounts: u32) -> pb::Instance {
        let req = pb::RegisterInstanceRequest {
            name: name.into(),
            api_url: sim.base_url(),
            token: sim.token().into(),
            max_accounts,
            ..Default::default()
        };
        self.instances().register_instance(authed(&self.admin, req)).await.expect("register instance").into_inner()
    }

    pub async fn get_instance(&self, id: &str) -> pb::Instance {
        let req = pb::GetInstanceRequest { id: id.into() };
        self.instances().get_instance(authed(&self.admin, req)).await.expect("get instance").into_inner()
    }

    pub async fn tenant(&self, code: &str, max_accounts: i32) -> Tenant {
        self.users.tenant(&self.admin, code, TenantLimits { max_accounts, ..TenantLimits::default() }).await
    }

    pub async fn create(&self, t: &Tenant, name: &str) -> pb::Account {
        let req = pb::CreateAccountRequest { account_name: name.into(), ..Default::default() };
        self.accounts().create_account(authed(&t.token, req)).await.expect("create account").into_inner()
    }

    pub async fn get(&self, t: &Tenant, id: &str) -> pb::Account {
        let req = pb::GetAccountRequest { id: id.into() };
        self.accounts().get_account(authed(&t.token, req)).await.expect("get account").into_inner()
    }

    /// The account's status changes, oldest first.
    pub async fn history(&self, t: &Tenant, id: &str) -> Vec<pb::StatusChange> {
        let page = Some(wework_proto::common::PageRequest { page_size: 100, page_token: String::new() });
        let req = pb::ListStatusHistoryRequest { account_id: id.into(), page };
        let resp = self.accounts().list_status_history(authed(&t.token, req)).await.expect("history");
        let mut changes = resp.into_inner().changes;
        changes.reverse();
        changes
    }

    /// `(old, new, operator_type)` of each change, oldest first.
    pub async fn transitions(&self, t: &Tenant, id: &str) -> Vec<(AccountStatus, AccountStatus, String)> {
        let changes = self.history(t, id).await;
        changes.into_iter().map(|c| (status(c.old_status), status(c.new_status), c.operator_type)).collect()
    }

    pub async fn start_login(&self, t: &Tenant, id: &str) -> Result<pb::LoginState, Status> {
        let req = pb::StartLoginRequest { id: id.into(), region: String::new() };
        self.accounts().start_login(authed(&t.token, req)).await.map(tonic::Response::into_inner)
    }

    /// A request from the callback service.
    pub fn as_service<T>(&self, msg: T) -> Request<T> {
        authed(&self.service.mint(), msg)
    }

    /// Reports one instance event with a fresh event id.
    pub async fn report(&self, guid: &str, kind: i32, data: &serde_json::Value) -> pb::ReportEventResponse {
        let n = self.events.fetch_add(1, Ordering::SeqCst);
        self.report_as(&format!("evt-{n}"), guid, kind, data).await
    }

    pub async fn report_as(
        &self,
        event_id: &str,
        guid: &str,
        kind: i32,
        data: &serde_json::Value,
    ) -> pb::ReportEventResponse {
        let req = pb::ReportEventRequest {
            event_id: event_id.into(),
            guid: guid.into(),
            notify_type: kind,
            data_json: data.to_string(),
            received_at: None,
        };
        self.accounts().report_event(self.as_service(req)).await.expect("report event").into_inner()
    }

    /// Forwards, in order, every callback the simulator emitted for `guid`
    /// that was not forwarded yet; returns the answers.
    pub async fn forward(&self, guid: &str) -> Vec<(i32, pb::ReportEventResponse)> {
        let emitted = self.sim.callbacks_of(guid);
        let done = self.forwarded.lock().expect("lock").get(guid).copied().unwrap_or(0);
        let mut answers = Vec::new();
        for cb in emitted.iter().skip(done) {
            answers.push((cb.notify_type, self.report(guid, cb.notify_type, &cb.data).await));
        }
        self.forwarded.lock().expect("lock").insert(guid.to_owned(), emitted.len());
        answers
    }

    /// A new account of `t` taken through StartLogin, scan and confirm.
    pub async fn online_account(&self, t: &Tenant, name: &str) -> (pb::Account, String) {
        let account = self.create(t, name).await;
        let guid = self.start_login(t, &account.id).await.expect("start login").account.expect("account").guid;
        self.sim.login(&guid).await.expect("sim login");
        self.forward(&guid).await;
        let account = self.get(t, &account.id).await;
        assert_eq!(status(account.status), AccountStatus::Online, "{account:?}");
        (account, guid)
    }

    /// One round of simulator heartbeats, forwarded.
    pub async fn heartbeat(&self, guid: &str) {
        self.sim.emit_heartbeats().await;
        let answers = self.forward(guid).await;
        assert!(answers.iter().any(|(k, _)| *k == NotifyType::Heartbeat.code()), "no heartbeat for {guid}");
    }

    pub async fn tick(&self) -> TickReport {
        watchdog::tick(&self.state).await.expect("watchdog tick")
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

impl TestApp {
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        wework_kit::clock::Clock::now(self.clock.as_ref())
    }
}
