//! A real account service in the same test process (system clock, watchdog
//! off) with one simulator registered as its protocol instance. Accounts are
//! brought online through the real login flow; the simulator's callbacks are
//! forwarded to `ReportEvent` by the test, as the callback service will.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use tonic::transport::Channel;
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::account::{
    self as pb, AccountStatus, account_service_client::AccountServiceClient,
    instance_service_client::InstanceServiceClient,
};
use wework_sim::Simulator;

use crate::helpers::authed;
use wework_testkit::Tenant;

pub struct AccountService {
    pub channel: Channel,
    pub grpc_url: String,
    /// Mints the callback service's tokens (ReportEvent is for services).
    service: ServiceTokenMinter,
    forwarded: Mutex<HashMap<String, usize>>,
    events: AtomicU64,
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
    pub async fn spawn(secret: &SecretString, user_service_url: &str, admin: &str, sim: &Simulator) -> Self {
        let db = testing::fresh_database("account").await;
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut settings = account_service::Settings::default();
        settings.server = testing::server_settings();
        settings.database = db.settings.clone();
        settings.cache = testing::cache_settings("account");
        settings.auth.data_dir = data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(secret.clone());
        settings.auth.user_service_url = user_service_url.to_owned();
        settings.integrations.task_service_url = String::new();
        settings.provider.notify_url = "http://127.0.0.1:9/v1/callbacks/instance".to_owned();
        settings.watchdog.enabled = false;
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
        let grpc_url = format!("http://{}", listeners.grpc_addr());
        let state = account_service::build(settings, wework_kit::clock::system()).await.expect("build account service");
        let shutdown = Shutdown::new();
        tokio::spawn(account_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(grpc_url.clone()).expect("url").connect_lazy();
        let service = ServiceTokenMinter::new("callback-service", secret, Duration::from_secs(3600));
        let this = Self {
            channel,
            grpc_url,
            service,
            forwarded: Mutex::default(),
            events: AtomicU64::new(0),
            shutdown,
            _db: db,
            _data_dir: data_dir,
        };
        let req = pb::RegisterInstanceRequest {
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

    /// A new account of `t` taken through StartLogin, scan and confirm;
    /// returns its id and guid.
    pub async fn online_account(&self, sim: &Simulator, t: &Tenant, name: &str) -> (String, String) {
        let req = pb::CreateAccountRequest { account_name: name.into(), ..Default::default() };
        let account = self.client().create_account(authed(&t.token, req)).await.expect("create account").into_inner();
        let req = pb::StartLoginRequest { id: account.id.clone(), region: String::new() };
        let login = self.client().start_login(authed(&t.token, req)).await.expect("start login").into_inner();
        let guid = login.account.expect("account").guid;
        sim.login(&guid).await.expect("sim login");
        self.forward(sim, &guid).await;
        assert_eq!(self.status(t, &account.id).await, AccountStatus::Online);
        (account.id, guid)
    }

    /// The account's status as the account service sees it.
    pub async fn status(&self, t: &Tenant, id: &str) -> AccountStatus {
        let req = pb::GetAccountRequest { id: id.into() };
        let account = self.client().get_account(authed(&t.token, req)).await.expect("get account").into_inner();
        AccountStatus::try_from(account.status).unwrap_or(AccountStatus::Unspecified)
    }

    /// Forwards, in order, every account-status callback the simulator
    /// emitted for `guid` that was not forwarded yet (send results are the
    /// message service's: see `TestApp::forward_receipts`).
    pub async fn forward(&self, sim: &Simulator, guid: &str) {
        let emitted = sim.callbacks_of(guid);
        let done = self.forwarded.lock().expect("lock").get(guid).copied().unwrap_or(0);
        for cb in emitted.iter().skip(done) {
            if cb.notify_type == wework_client::NotifyType::SendResult.code() {
                continue;
            }
            let n = self.events.fetch_add(1, Ordering::SeqCst);
            let req = pb::ReportEventRequest {
                event_id: format!("evt-{n}"),
                guid: guid.into(),
                notify_type: cb.notify_type,
                data_json: cb.data.to_string(),
                received_at: None,
            };
            self.client().report_event(authed(&self.service.mint(), req)).await.expect("report event");
        }
        self.forwarded.lock().expect("lock").insert(guid.to_owned(), emitted.len());
    }
}
