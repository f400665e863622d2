//! `spawn_app()`: a message service on 127.0.0.1:0 with a fresh database and
//! a manual clock the test drives, next to a real user service (tokens,
//! daily quota, tenant config), a real account service (send targets, the
//! directory) and a simulator registered as the one protocol instance.
//!
//! Defaults chosen for tests (override with `spawn_app_with`):
//! - every background worker is off (dispatch, feeder, retention): tests
//!   call the workers' `tick` functions themselves;
//! - `throttle.enabled = false`: sends are not spaced unless a test turns
//!   the anti-ban rule on;
//! - `dispatch.target_cache_ms = 0`: an account's status change is seen at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use message_service::store::{self, NewMessage};
use message_service::{AppState, Settings};
use secrecy::SecretString;
use tonic::transport::Channel;
use tonic::{Request, Status};
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::clock::ManualClock;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::message::{
    self as pb, batch_service_client::BatchServiceClient, message_service_client::MessageServiceClient,
    template_service_client::TemplateServiceClient,
};
use wework_sim::{CallbackConfig, KickReason, SimConfig, Simulator};

pub use crate::accounts::AccountService;
pub use wework_testkit::{Tenant, TenantLimits, UserService, assert_code, authed};

pub struct TestApp {
    pub channel: Channel,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    /// The settings the service was built with (for replicas).
    pub settings: Settings,
    pub shutdown: Shutdown,
    pub users: UserService,
    pub accounts: AccountService,
    /// The platform super-admin's token.
    pub admin: String,
    pub sim: Simulator,
    /// Mints the callback service's tokens (receipts, inbound messages).
    pub service: ServiceTokenMinter,
    /// The internal secret every service of the test shares.
    pub secret: SecretString,
    receipts: Mutex<HashMap<String, usize>>,
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
    let admin = users.admin_token().await;
    let sim = start_sim().await;
    let accounts = AccountService::spawn(&secret, &users.grpc_url, &admin, &sim).await;
    let db = testing::fresh_database("message").await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::default();
    settings.server = testing::server_settings();
    settings.database = db.settings.clone();
    settings.cache = testing::cache_settings("message");
    settings.auth.data_dir = data_dir.path().to_path_buf();
    settings.auth.internal_secret = Some(secret.clone());
    settings.auth.user_service_url = users.grpc_url.clone();
    settings.integrations.account_service_url = accounts.grpc_url.clone();
    settings.integrations.task_service_url = String::new();
    settings.provider.request_timeout_ms = 2_000;
    settings.dispatch.enabled = false;
    settings.dispatch.target_cache_ms = 0;
    settings.retention.enabled = false;
    settings.throttle.enabled = false;
    settings.throttle.tenant_cache_secs = 0;
    customize(&mut settings);
    // Near the real time: user tokens expire by the system clock's measure.
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).expect("now");
    let clock = Arc::new(ManualClock::new(start));
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
    let addr = listeners.grpc_addr();
    let state = message_service::build(settings.clone(), clock.shared()).await.expect("build");
    let shutdown = Shutdown::new();
    tokio::spawn(message_service::serve(state.clone(), listeners, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect_lazy();
    let service = ServiceTokenMinter::new("callback-service", &secret, Duration::from_secs(3600));
    TestApp {
        channel,
        clock,
        state,
        settings,
        shutdown,
        users,
        accounts,
        admin,
        sim,
        service,
        secret,
        receipts: Mutex::default(),
        _db: db,
        _data_dir: data_dir,
    }
}

/// A simulator without a heartbeat ticker; its callbacks go nowhere (tests
/// forward them).
pub async fn start_sim() -> Simulator {
    let callbacks = CallbackConfig { max_attempts: 1, timeout: Duration::from_secs(1), ..CallbackConfig::default() };
    let config = SimConfig { heartbeat_interval: Duration::ZERO, callbacks, ..SimConfig::default() };
    Simulator::start(config).await.expect("simulator")
}

/// The fields an InvalidArgument names (its message is `field: why; …`).
pub fn violated_fields(status: &Status) -> Vec<String> {
    status.message().split("; ").filter_map(|part| part.split_once(": ").map(|(f, _)| f.to_owned())).collect()
}

/// Text content for requests.
pub fn text(body: &str) -> Option<pb::Content> {
    Some(pb::Content { kind: Some(pb::content::Kind::Text(pb::content::Text { text: body.into() })) })
}

impl TestApp {
    pub fn messages(&self) -> MessageServiceClient<Channel> {
        MessageServiceClient::new(self.channel.clone())
    }
    pub fn templates(&self) -> TemplateServiceClient<Channel> {
        TemplateServiceClient::new(self.channel.clone())
    }
    pub fn batches(&self) -> BatchServiceClient<Channel> {
        BatchServiceClient::new(self.channel.clone())
    }

    /// A tenant allowed `daily_messages` a day, with its administrator's token.
    pub async fn tenant(&self, code: &str, daily_messages: i32) -> Tenant {
        self.users
            .tenant(&self.admin, code, TenantLimits { max_daily_messages: daily_messages, ..TenantLimits::default() })
            .await
    }

    /// Sets the tenant's config, e.g. `{"throttle": {"min_interval_ms": 3000}}`.
    pub async fn set_tenant_config(&self, t: &Tenant, config: serde_json::Value) {
        self.users.set_config(&self.admin, &t.id, config).await;
    }

    /// A new account of `t`, logged in on the simulator: `(account_id, guid)`.
    pub async fn online_account(&self, t: &Tenant, name: &str) -> (String, String) {
        self.accounts.online_account(&self.sim, t, name).await
    }

    /// The account is logged out on its instance (the phone logged out) and
    /// the account service has seen it.
    pub async fn take_offline(&self, guid: &str) {
        self.sim.kick(guid, KickReason::Logout).await.expect("kick");
        self.accounts.forward(&self.sim, guid).await;
    }

    /// Logs an offline account in again (StartLogin, scan, confirm); returns its new guid.
    pub async fn bring_online(&self, t: &Tenant, account_id: &str) -> String {
        use wework_proto::account::StartLoginRequest;
        let req = StartLoginRequest { id: account_id.into(), region: String::new() };
        let login = self.accounts.client().start_login(authed(&t.token, req)).await.expect("start login");
        let guid = login.into_inner().account.expect("account").guid;
        self.sim.login(&guid).await.expect("sim login");
        self.accounts.forward(&self.sim, &guid).await;
        guid
    }

    /// A request from a platform service (the callback service).
    pub fn as_service<T>(&self, msg: T) -> Request<T> {
        authed(&self.service.mint(), msg)
    }

    /// Forwards every send result (19001) the simulator emitted for `guid`
    /// and not forwarded yet to UpdateDeliveryStatus, as the callback
    /// service will; returns the answers.
    pub async fn forward_receipts(&self, guid: &str) -> Vec<Result<pb::UpdateDeliveryStatusResponse, Status>> {
        use wework_client::callback::{SendResultData, SendStatus};
        let emitted = self.sim.callbacks_of(guid);
        let done = self.receipts.lock().expect("lock").get(guid).copied().unwrap_or(0);
        let mut answers = Vec::new();
        for cb in emitted.iter().skip(done) {
            if cb.notify_type != wework_client::NotifyType::SendResult.code() {
                continue;
            }
            let data: SendResultData = serde_json::from_value(cb.data.clone()).expect("send result data");
            let status = match data.status {
                SendStatus::Sent => pb::MessageStatus::Sent,
                SendStatus::Delivered => pb::MessageStatus::Delivered,
                SendStatus::Failed => pb::MessageStatus::Failed,
            };
            let req = pb::UpdateDeliveryStatusRequest {
                message_id: data.client_msg_id.clone(),
                wework_msg_id: String::new(),
                status: status as i32,
                error_code: data.error_code.map(|c| c.to_string()).unwrap_or_default(),
                error_message: data.error_message.clone().unwrap_or_default(),
                at: None,
            };
            answers.push(self.messages().update_delivery_status(self.as_service(req)).await.map(|r| r.into_inner()));
        }
        self.receipts.lock().expect("lock").insert(guid.to_owned(), emitted.len());
        answers
    }

    /// Another replica of the service on the same database (a second
    /// dispatcher, or the service after a restart), on the same clock.
    pub async fn replica(&self) -> AppState {
        message_service::build(self.settings.clone(), self.clock.shared()).await.expect("build replica")
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        wework_kit::clock::Clock::now(self.clock.as_ref())
    }

    /// Creates outgoing text messages directly through the inserter (no
    /// quota, no RPC), due now: for worker tests.
    pub async fn insert_texts(&self, t: &Tenant, account_id: &str, n: usize) -> Vec<String> {
        let rows: Vec<NewMessage> =
            (0..n).map(|i| self.new_text(t, account_id, &format!("conv-{i}"), "hello")).collect();
        let created = self.state.inserter.create(rows).await.expect("insert messages");
        created.into_iter().map(|(row, _)| row.id).collect()
    }

    /// An outgoing text message to `conversation`, due now, priority 5.
    pub fn new_text(&self, t: &Tenant, account_id: &str, conversation: &str, body: &str) -> NewMessage {
        let content = wework_client::protocol::MessageContent::Text { text: body.into() };
        NewMessage {
            tenant_id: t.id.clone(),
            account_id: account_id.into(),
            conversation_id: conversation.into(),
            chat_type: "private".into(),
            direction: store::OUT,
            message_type: "text".into(),
            content: store::to_json(&content),
            at_list: None,
            template_id: None,
            status: message_service::domain::status::MessageStatus::Pending,
            wework_msg_id: None,
            send_time: None,
            batch_id: None,
            receiver_id: None,
            priority: 5,
            scheduled_time: None,
            next_attempt_at: Some(self.now()),
            idempotency_key: None,
            sender_id: None,
            sender_name: None,
            traceparent: None,
        }
    }

    /// A message as stored.
    pub async fn stored(&self, id: &str) -> store::entity::message::Model {
        store::find_message(self.state.db.reader(), id, None).await.expect("find message").expect("message exists")
    }
}
