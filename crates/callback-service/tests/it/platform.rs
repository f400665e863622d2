//! The services a callback is routed to, real and in this test process: an
//! account service whose instance (the simulator) sends its callbacks to
//! the callback service under test, and a message service that dispatches
//! to the simulator (so receipts arrive as real callbacks).

use std::time::Duration;

use secrecy::SecretString;
use tonic::transport::Channel;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::account::{
    self as apb, AccountStatus, account_service_client::AccountServiceClient,
    conversation_service_client::ConversationServiceClient, instance_service_client::InstanceServiceClient,
};
use wework_proto::message::message_service_client::MessageServiceClient;
use wework_sim::{CallbackConfig, SimConfig, Simulator};

use crate::helpers::authed;
use wework_testkit::Tenant;

/// A simulator without a heartbeat ticker whose callbacks are retried
/// quickly (a callback for a guid the account service has not stored yet
/// is refused once or twice, then accepted).
pub async fn start_sim() -> Simulator {
    let callbacks = CallbackConfig {
        max_attempts: 20,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
    };
    let config = SimConfig { heartbeat_interval: Duration::ZERO, callbacks, ..SimConfig::default() };
    Simulator::start(config).await.expect("simulator")
}

pub struct AccountService {
    pub channel: Channel,
    pub grpc_url: String,
    shutdown: Shutdown,
    _db: testing::TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl Drop for AccountService {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

impl AccountService {
    /// `notify_url`: where the instance sends callbacks (the service under test).
    pub async fn spawn(secret: &SecretString, users_url: &str, admin: &str, sim: &Simulator, notify_url: &str) -> Self {
        let db = testing::fresh_database("account").await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut settings = account_service::Settings::default();
        settings.server = testing::server_settings();
        settings.database = db.settings.clone();
        settings.cache = testing::cache_settings("account");
        settings.auth.data_dir = data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(secret.clone());
        settings.auth.user_service_url = users_url.to_owned();
        settings.integrations.task_service_url = String::new();
        settings.provider.notify_url = notify_url.to_owned();
        settings.watchdog.enabled = false;
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
        let grpc_url = format!("http://{}", listeners.grpc_addr());
        let state = account_service::build(settings, wework_kit::clock::system()).await.expect("build account service");
        let shutdown = Shutdown::new();
        tokio::spawn(account_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(grpc_url.clone()).expect("url").connect_lazy();
        let this = Self { channel, grpc_url, shutdown, _db: db, _data_dir: data_dir };
        let req = apb::RegisterInstanceRequest {
            name: "sim-1".into(),
            api_url: sim.base_url(),
            token: sim.token().into(),
            ..Default::default()
        };
        InstanceServiceClient::new(this.channel.clone())
            .register_instance(authed(admin, req))
            .await
            .expect("register instance");
        this
    }

    pub fn client(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::new(self.channel.clone())
    }

    pub fn conversations(&self) -> ConversationServiceClient<Channel> {
        ConversationServiceClient::new(self.channel.clone())
    }

    /// A new account of `t` with a login started: `(account_id, guid)`.
    pub async fn start_login(&self, t: &Tenant, name: &str) -> (String, String) {
        let req = apb::CreateAccountRequest { account_name: name.into(), ..Default::default() };
        let account = self.client().create_account(authed(&t.token, req)).await.expect("create account").into_inner();
        let req = apb::StartLoginRequest { id: account.id.clone(), region: String::new() };
        let login = self.client().start_login(authed(&t.token, req)).await.expect("start login").into_inner();
        (account.id, login.account.expect("account").guid)
    }

    /// The account's status as the account service sees it.
    pub async fn status(&self, t: &Tenant, id: &str) -> AccountStatus {
        let req = apb::GetAccountRequest { id: id.into() };
        let account = self.client().get_account(authed(&t.token, req)).await.expect("get account").into_inner();
        AccountStatus::try_from(account.status).unwrap_or(AccountStatus::Unspecified)
    }
}

pub struct MessageService {
    pub channel: Channel,
    pub grpc_url: String,
    shutdown: Shutdown,
    _db: testing::TestDatabase,
    _data_dir: tempfile::TempDir,
}

impl Drop for MessageService {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

impl MessageService {
    /// With its dispatcher running (system clock, no throttle), so a sent
    /// message comes back as the instance's receipts.
    pub async fn spawn(secret: &SecretString, users_url: &str, accounts_url: &str) -> Self {
        let db = testing::fresh_database("message").await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut settings = message_service::Settings::default();
        settings.server = testing::server_settings();
        settings.database = db.settings.clone();
        settings.cache = testing::cache_settings("message");
        settings.auth.data_dir = data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(secret.clone());
        settings.auth.user_service_url = users_url.to_owned();
        settings.integrations.account_service_url = accounts_url.to_owned();
        settings.integrations.task_service_url = String::new();
        settings.dispatch.tick_ms = 20;
        settings.dispatch.target_cache_ms = 0;
        settings.throttle.enabled = false;
        settings.retention.enabled = false;
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
        let grpc_url = format!("http://{}", listeners.grpc_addr());
        let state = message_service::build(settings, wework_kit::clock::system()).await.expect("build message service");
        let shutdown = Shutdown::new();
        tokio::spawn(message_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(grpc_url.clone()).expect("url").connect_lazy();
        Self { channel, grpc_url, shutdown, _db: db, _data_dir: data_dir }
    }

    pub fn client(&self) -> MessageServiceClient<Channel> {
        MessageServiceClient::new(self.channel.clone())
    }
}
