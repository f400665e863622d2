//! `spawn_app()`: a task center on 127.0.0.1:0 with a fresh database, a
//! manual clock the test drives, a worker polling fast, loopback deliveries
//! allowed (the sink runs on 127.0.0.1), and typed clients. `replica()`
//! starts another instance on the same database and cache, as a second
//! container would be.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use task_service::{AppState, Settings};
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::clock::{Clock, ManualClock};
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::task::{
    self as pb, business_system_service_client::BusinessSystemServiceClient,
    endpoint_service_client::EndpointServiceClient, schedule_service_client::ScheduleServiceClient,
    task_service_client::TaskServiceClient, task_stats_service_client::TaskStatsServiceClient,
};

pub use wework_kit::testing::eventually;

/// Long enough for a loaded CI machine, short enough to fail fast.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub channel: Channel,
    /// `http://127.0.0.1:<port>` of this replica's gRPC server.
    pub grpc_url: String,
    pub clock: Arc<ManualClock>,
    pub minter: ServiceTokenMinter,
    pub state: AppState,
    pub shutdown: Shutdown,
    settings: Settings,
    _db: Arc<testing::TestDatabase>,
    _data_dir: Arc<tempfile::TempDir>,
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
    let db = Arc::new(testing::fresh_database("task").await);
    let data_dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let mut settings = Settings::default();
    settings.server = testing::server_settings();
    settings.database = db.settings.clone();
    settings.cache = testing::cache_settings("task");
    settings.auth.data_dir = data_dir.path().to_path_buf();
    settings.auth.internal_secret = Some(SecretString::from(wework_kit::crypto::random_token(32)));
    // Never contacted: tests use internal (service / API-key) tokens only.
    settings.auth.user_service_url = "http://127.0.0.1:9".to_owned();
    settings.delivery.allow_loopback = true;
    settings.worker.idle_poll_ms = 20;
    settings.worker.renew_every_secs = 1;
    settings.worker.lease_secs = 30;
    settings.worker.scheduler_tick_ms = 100;
    customize(&mut settings);
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time")));
    start(settings, clock, db, data_dir).await
}

async fn start(
    settings: Settings,
    clock: Arc<ManualClock>,
    db: Arc<testing::TestDatabase>,
    data_dir: Arc<tempfile::TempDir>,
) -> TestApp {
    let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind");
    let addr = listeners.grpc_addr();
    let state = task_service::build(settings.clone(), clock.shared()).await.expect("build");
    let shutdown = Shutdown::new();
    tokio::spawn(task_service::serve(state.clone(), listeners, shutdown.clone()));
    let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect_lazy();
    let secret = settings.auth.internal_secret.clone().expect("secret");
    let minter = ServiceTokenMinter::with_clock("test-service", &secret, Duration::from_secs(3600), clock.shared());
    let grpc_url = format!("http://{addr}");
    TestApp { channel, grpc_url, clock, minter, state, shutdown, settings, _db: db, _data_dir: data_dir }
}

/// A request carrying a bearer token.
pub fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    req.metadata_mut().insert("authorization", value);
    req
}

/// A request authenticated as a business system.
pub fn as_business<T>(key: &str, secret: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.metadata_mut().insert("x-api-key", key.parse().expect("key"));
    req.metadata_mut().insert("x-api-secret", secret.parse().expect("secret"));
    req
}

/// A registered business system and its credentials.
pub struct BusinessCreds {
    pub system: pb::BusinessSystem,
    pub api_key: String,
    pub api_secret: String,
    pub signing_secret: String,
}

impl TestApp {
    /// Another replica on the same database, cache and clock, with its own
    /// worker (customised, e.g. another worker id).
    pub async fn replica(&self, customize: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        settings.server = testing::server_settings();
        customize(&mut settings);
        start(settings, self.clock.clone(), self._db.clone(), self._data_dir.clone()).await
    }

    pub fn business(&self) -> BusinessSystemServiceClient<Channel> {
        BusinessSystemServiceClient::new(self.channel.clone())
    }
    pub fn endpoints(&self) -> EndpointServiceClient<Channel> {
        EndpointServiceClient::new(self.channel.clone())
    }
    pub fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel.clone())
    }
    pub fn schedules(&self) -> ScheduleServiceClient<Channel> {
        ScheduleServiceClient::new(self.channel.clone())
    }
    pub fn stats(&self) -> TaskStatsServiceClient<Channel> {
        TaskStatsServiceClient::new(self.channel.clone())
    }

    /// A request from a platform service.
    pub fn platform<T>(&self, msg: T) -> Request<T> {
        authed(&self.minter.mint(), msg)
    }

    /// A request from a tenant principal (an API key of `tenant_id`) with `permissions`.
    pub fn tenant<T>(&self, tenant_id: &str, permissions: &[&str], msg: T) -> Request<T> {
        let perms: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
        let token = self.minter.mint_for_api_key(tenant_id, "", "key-1", &perms, Duration::from_secs(3600));
        authed(&token, msg)
    }

    pub async fn register_business(&self, code: &str, rate_limit: u32) -> BusinessCreds {
        let resp = self
            .business()
            .register_business_system(self.platform(pb::RegisterBusinessSystemRequest {
                business_code: code.to_owned(),
                business_name: format!("System {code}"),
                rate_limit,
                description: String::new(),
            }))
            .await
            .expect("register business system")
            .into_inner();
        let system = resp.business_system.expect("system");
        BusinessCreds {
            api_key: system.api_key.clone(),
            system,
            api_secret: resp.api_secret,
            signing_secret: resp.signing_secret,
        }
    }

    /// A task spec to `url`, due now, with a unique business id.
    pub fn http_spec(&self, unique: &str, url: &str, body: &str) -> pb::TaskSpec {
        pb::TaskSpec {
            business_unique_id: unique.to_owned(),
            target: Some(pb::task_spec::Target::Http(pb::HttpTarget { url: url.to_owned(), ..Default::default() })),
            body: body.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    pub async fn create(&self, creds: &BusinessCreds, spec: pb::TaskSpec) -> pb::Task {
        self.tasks()
            .create_task(as_business(&creds.api_key, &creds.api_secret, pb::CreateTaskRequest { task: Some(spec) }))
            .await
            .expect("create task")
            .into_inner()
            .task
            .expect("task")
    }

    pub async fn get(&self, id: &str) -> pb::Task {
        self.tasks()
            .get_task(self.platform(pb::GetTaskRequest { id: id.to_owned() }))
            .await
            .expect("get task")
            .into_inner()
    }

    /// Polls until the task reaches `status`; panics with the last state after the deadline.
    pub async fn wait_status(&self, id: &str, status: pb::TaskStatus) -> pb::Task {
        eventually(DEADLINE, || async {
            let t = self.get(id).await;
            (t.status == status as i32).then_some(t)
        })
        .await
    }

    pub async fn executions(&self, id: &str) -> Vec<pb::Execution> {
        self.tasks()
            .list_executions(self.platform(pb::ListExecutionsRequest { task_id: id.to_owned(), page: None }))
            .await
            .expect("list executions")
            .into_inner()
            .executions
    }

    /// Moves the test clock and wakes the worker so due tasks run at once.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.state.wake.notify_one();
    }

    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }
}
