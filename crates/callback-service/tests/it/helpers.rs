//! `spawn_app()`: a callback service on 127.0.0.1:0 with a fresh database
//! and a manual clock, next to real user, account, message and task
//! services and a simulator whose callbacks come to the service's ingest
//! URL. The processor is off: tests drive `processor::tick` themselves
//! ([`TestApp::process_until`]), so nothing happens behind their back.

use std::sync::Arc;
use std::time::Duration;

use callback_service::worker::processor;
use callback_service::{AppState, Settings};
use secrecy::SecretString;
use tonic::transport::Channel;
use wework_client::callback::sign;
use wework_kit::clock::ManualClock;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing::{self, eventually};
use wework_proto::callback::{
    callback_service_client::CallbackServiceClient, wecom_app_service_client::WecomAppServiceClient,
};
use wework_sim::Simulator;

pub use crate::platform::{AccountService, MessageService};
use wework_testkit::{TaskCenter, TaskCenterData};
pub use wework_testkit::{Tenant, TenantLimits, UserService, assert_code, authed};

pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub shutdown: Shutdown,
    pub channel: Channel,
    /// `http://127.0.0.1:<port>` of the ingest (HTTP) port.
    pub http: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub sim: Simulator,
    pub tasks: TaskCenter,
    // Dropped in this order: the services before the user service they call.
    pub messages: MessageService,
    pub accounts: AccountService,
    pub users: UserService,
    _task_data: TaskCenterData,
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
    let task_data = TaskCenterData::new().await;
    let tasks = TaskCenter::spawn(&task_data, &secret, &users.grpc_url).await;
    let sim = crate::platform::start_sim().await;

    let mut settings = Settings { server: testing::server_settings(), ..Settings::default() };
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
    let http = format!("http://{}", listeners.http_addr());
    let notify_url = format!("{http}{}", callback_service::ingest::INSTANCE_PATH);
    let accounts = AccountService::spawn(&secret, &users.grpc_url, &admin, &sim, &notify_url).await;
    let messages = MessageService::spawn(&secret, &users.grpc_url, &accounts.grpc_url).await;

    let db = testing::fresh_database("callback").await;
    let data_dir = tempfile::tempdir().expect("tempdir");
    settings.database = db.settings.clone();
    settings.cache = testing::cache_settings("callback");
    settings.auth.data_dir = data_dir.path().to_path_buf();
    settings.auth.internal_secret = Some(secret.clone());
    settings.auth.user_service_url = users.grpc_url.clone();
    settings.integrations.account_service_url = accounts.grpc_url.clone();
    settings.integrations.message_service_url = messages.grpc_url.clone();
    settings.integrations.task_service_url = format!("http://{}", tasks.addr);
    settings.processor.enabled = false;
    settings.retention.enabled = false;
    settings.ingest.guid_cache_ms = 0;
    settings.ingest.unknown_guid_cache_ms = 0;
    customize(&mut settings);
    // Near the real time: the simulator signs with the system clock.
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).expect("now");
    let clock = Arc::new(ManualClock::new(start));
    let grpc = listeners.grpc_addr();
    let state = callback_service::build(settings, clock.shared()).await.expect("build");
    let shutdown = Shutdown::new();
    tokio::spawn(callback_service::serve(state.clone(), listeners, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{grpc}")).expect("url").connect_lazy();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
    TestApp {
        state,
        clock,
        shutdown,
        channel,
        http,
        client,
        admin,
        sim,
        tasks,
        messages,
        accounts,
        users,
        _task_data: task_data,
        _db: db,
        _data_dir: data_dir,
    }
}

/// One answer of the ingest endpoint.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl TestApp {
    pub fn events(&self) -> CallbackServiceClient<Channel> {
        CallbackServiceClient::new(self.channel.clone())
    }

    pub fn apps(&self) -> WecomAppServiceClient<Channel> {
        WecomAppServiceClient::new(self.channel.clone())
    }

    pub async fn tenant(&self, code: &str) -> Tenant {
        let limits = TenantLimits { max_daily_messages: 10_000, ..TenantLimits::default() };
        self.users.tenant(&self.admin, code, limits).await
    }

    /// An account of `t` brought online through real callbacks: StartLogin,
    /// scan and confirm on the simulator, processed until the account
    /// service says online. `(account_id, guid)`.
    pub async fn online_account(&self, t: &Tenant, name: &str) -> (String, String) {
        let (account_id, guid) = self.accounts.start_login(t, name).await;
        self.sim.login(&guid).await.expect("sim login");
        self.process_until(|| async {
            (self.accounts.status(t, &account_id).await == wework_proto::account::AccountStatus::Online).then_some(())
        })
        .await;
        (account_id, guid)
    }

    /// Runs the processor until `check` holds (or the deadline panics).
    pub async fn process_until<F, Fut, T>(&self, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        eventually(DEADLINE, || {
            let done = check();
            async move {
                processor::tick(&self.state).await.expect("processor tick");
                done.await
            }
        })
        .await
    }

    /// POSTs `body` to the instance ingest, signed with `token` now.
    pub async fn post_signed(&self, token: &str, body: &[u8], callback_id: Option<&str>) -> Answer {
        let ts = chrono::Utc::now().timestamp();
        self.post_instance(
            body,
            &[("x-wework-timestamp", ts.to_string()), ("x-wework-signature", sign(token.as_bytes(), ts, body))],
            callback_id,
        )
        .await
    }

    pub async fn post_instance(&self, body: &[u8], headers: &[(&str, String)], callback_id: Option<&str>) -> Answer {
        let mut req = self
            .client
            .post(format!("{}{}", self.http, callback_service::ingest::INSTANCE_PATH))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(id) = callback_id {
            req = req.header("x-wework-callback-id", id);
        }
        let resp = req.send().await.expect("post callback");
        Answer { status: resp.status().as_u16(), body: resp.text().await.unwrap_or_default() }
    }

    /// Every stored event, oldest first.
    pub async fn stored(&self) -> Vec<callback_service::store::entity::event::Model> {
        use callback_service::store::entity::event::{Column, Entity};
        use sea_orm::{EntityTrait, QueryOrder};
        Entity::find()
            .order_by_asc(Column::ReceivedTime)
            .order_by_asc(Column::Id)
            .all(self.state.db.reader())
            .await
            .expect("events")
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }
}

/// Waits until `check` holds (polling; panics at the deadline).
pub async fn eventually_true<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually(DEADLINE, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await;
}

/// The first delivery of tenant event `kind` the receiver got.
pub async fn wait_for_delivery(receiver: &wework_testkit::Receiver, kind: &str) -> wework_testkit::Delivery {
    eventually(DEADLINE, || async { receiver.deliveries().into_iter().find(|d| d.json()["type"] == kind) }).await
}

impl TestApp {
    /// The service's (manual) clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        wework_kit::clock::Clock::now(self.clock.as_ref())
    }
}

impl TestApp {
    /// Polls the stored events (without processing) until `pick` finds one.
    pub async fn wait_for_stored<T>(
        &self,
        mut pick: impl FnMut(&callback_service::store::entity::event::Model) -> Option<T>,
    ) -> T {
        let deadline = std::time::Instant::now() + DEADLINE;
        loop {
            if let Some(found) = self.stored().await.iter().find_map(&mut pick) {
                return found;
            }
            assert!(std::time::Instant::now() < deadline, "no stored event matched within {DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
