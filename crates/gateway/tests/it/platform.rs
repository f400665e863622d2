//! The whole platform in this test process — the five services, a simulated
//! WeWork instance and the gateway under test — each on random loopback
//! ports with its own throwaway database, wired exactly as the all-in-one
//! binary wires them (the instance's callbacks reach the callback service,
//! events reach the task center and the gateway's live stream).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_sim::{CallbackConfig, SimConfig, Simulator};
use wework_testkit::{TaskCenter, TaskCenterData, UserService};

pub const ADMIN_PASSWORD: &str = wework_testkit::ADMIN_PASSWORD;

/// Running services; everything stops when dropped.
pub struct Platform {
    pub gateway: String,
    pub ops: String,
    pub sim: Simulator,
    _users: UserService,
    _tasks: TaskCenter,
    pub http: reqwest::Client,
    /// The platform's internal secret (to forge internal tokens in tests).
    pub secret: SecretString,
    /// What the gateway was started with, to start another replica.
    gateway_settings: gateway::Settings,
    shutdown: Shutdown,
    _tasks_data: TaskCenterData,
    _dbs: Vec<testing::TestDatabase>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Gateway settings a test may change before the start.
pub type Customize = fn(&mut gateway::Settings);

impl Platform {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(customize: Customize) -> Self {
        let secret = SecretString::from(format!("gw-test-{}", uuid::Uuid::now_v7()));
        let users = UserService::spawn(&secret).await;
        let tasks_data = TaskCenterData::new().await;
        let tasks = TaskCenter::spawn(&tasks_data, &secret, &users.grpc_url).await;
        let task_url = format!("http://{}", tasks.addr);
        let shutdown = Shutdown::new();
        let (mut dbs, mut dirs) = (Vec::new(), Vec::new());

        // Bind first: the account service needs the ingest URL, the callback
        // service the account and message URLs.
        let server = testing::server_settings();
        let account_l = wework_kit::server::Listeners::bind(&server).await.expect("bind");
        let message_l = wework_kit::server::Listeners::bind(&server).await.expect("bind");
        let callback_l = wework_kit::server::Listeners::bind(&server).await.expect("bind");
        let account_url = format!("http://{}", account_l.grpc_addr());
        let message_url = format!("http://{}", message_l.grpc_addr());
        let callback_url = format!("http://{}", callback_l.grpc_addr());
        let ingest = format!("http://{}/v1/callbacks/instance", callback_l.http_addr());

        let mut data_dir = || {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().to_path_buf();
            dirs.push(dir);
            path
        };
        let (account_dir, message_dir, callback_dir) = (data_dir(), data_dir(), data_dir());

        let account_db = testing::fresh_database("account").await;
        let mut a = account_service::Settings { server: server.clone(), ..Default::default() };
        a.database = account_db.settings.clone();
        a.cache = testing::cache_settings("account");
        a.auth.data_dir = account_dir;
        a.auth.internal_secret = Some(secret.clone());
        a.auth.user_service_url = users.grpc_url.clone();
        a.integrations.task_service_url = task_url.clone();
        a.provider.notify_url = ingest;
        a.watchdog.enabled = false;
        let state = account_service::build(a, wework_kit::clock::system()).await.expect("account service");
        tokio::spawn(account_service::serve(state, account_l, shutdown.clone()));
        dbs.push(account_db);

        let message_db = testing::fresh_database("message").await;
        let mut m = message_service::Settings { server: server.clone(), ..Default::default() };
        m.database = message_db.settings.clone();
        m.cache = testing::cache_settings("message");
        m.auth.data_dir = message_dir;
        m.auth.internal_secret = Some(secret.clone());
        m.auth.user_service_url = users.grpc_url.clone();
        m.integrations.account_service_url = account_url.clone();
        m.integrations.task_service_url = task_url.clone();
        m.dispatch.tick_ms = 20;
        m.dispatch.target_cache_ms = 0;
        m.throttle.enabled = false;
        m.retention.enabled = false;
        let state = message_service::build(m, wework_kit::clock::system()).await.expect("message service");
        tokio::spawn(message_service::serve(state, message_l, shutdown.clone()));
        dbs.push(message_db);

        let callback_db = testing::fresh_database("callback").await;
        let mut c = callback_service::Settings { server: server.clone(), ..Default::default() };
        c.database = callback_db.settings.clone();
        c.cache = testing::cache_settings("callback");
        c.auth.data_dir = callback_dir;
        c.auth.internal_secret = Some(secret.clone());
        c.auth.user_service_url = users.grpc_url.clone();
        c.integrations.account_service_url = account_url.clone();
        c.integrations.message_service_url = message_url.clone();
        c.integrations.task_service_url = task_url.clone();
        c.retention.enabled = false;
        c.ingest.guid_cache_ms = 0;
        c.ingest.unknown_guid_cache_ms = 0;
        let state = callback_service::build(c, wework_kit::clock::system()).await.expect("callback service");
        tokio::spawn(callback_service::serve(state, callback_l, shutdown.clone()));
        dbs.push(callback_db);

        let callbacks = CallbackConfig {
            max_attempts: 20,
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        };
        let sim = Simulator::start(SimConfig { heartbeat_interval: Duration::ZERO, callbacks, ..SimConfig::default() })
            .await
            .expect("simulator");

        let gw_dir = tempfile::tempdir().expect("tempdir");
        let mut g = gateway::Settings { server: server.clone(), ..Default::default() };
        g.gateway.listen_addr = "127.0.0.1:0".parse().expect("addr");
        g.cache = testing::cache_settings("gateway");
        g.cache.events_prefix = tasks.events_prefix.clone();
        g.auth.data_dir = gw_dir.path().to_path_buf();
        g.auth.internal_secret = Some(secret.clone());
        g.auth.user_service_url = users.grpc_url.clone();
        g.integrations.account_service_url = account_url;
        g.integrations.message_service_url = message_url;
        g.integrations.callback_service_url = callback_url;
        g.integrations.task_service_url = task_url;
        customize(&mut g);
        dirs.push(gw_dir);
        let gateway_settings = g.clone();
        let listeners = gateway::Listeners::bind(&g).await.expect("bind gateway");
        let (api, ops) = (listeners.api_addr(), listeners.ops_addr());
        let gw = gateway::build(g, wework_kit::clock::system()).expect("build gateway");
        tokio::spawn(gateway::serve(gw, listeners, shutdown.clone()));

        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        Self {
            gateway: format!("http://{api}"),
            ops: format!("http://{ops}"),
            sim,
            _users: users,
            _tasks: tasks,
            http,
            secret,
            gateway_settings,
            shutdown,
            _tasks_data: tasks_data,
            _dbs: dbs,
            _dirs: dirs,
        }
    }

    /// Another gateway replica with the same settings (the same Redis, when
    /// the tests have one); its base URL. Stops with the platform.
    pub async fn another_gateway(&self) -> String {
        let settings = self.gateway_settings.clone();
        let listeners = gateway::Listeners::bind(&settings).await.expect("bind gateway");
        let api = listeners.api_addr();
        let gw = gateway::build(settings, wework_kit::clock::system()).expect("build gateway");
        tokio::spawn(gateway::serve(gw, listeners, self.shutdown.clone()));
        format!("http://{api}")
    }

    /// Begins shutting everything down (as Ctrl-C does).
    pub fn stop(&self) {
        self.shutdown.trigger();
    }

    /// One JSON call through the gateway: (status, body, headers).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.gateway));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Reply::from(req.send().await.expect("gateway answers")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Logs in through the gateway; the access token.
    pub async fn login(&self, tenant: &str, user: &str, password: &str) -> String {
        let body = json!({"tenant_code": tenant, "login": user, "password": password});
        let reply = self.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await;
        reply.ok().json["tokens"]["access_token"].as_str().expect("access token").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("platform", "admin", ADMIN_PASSWORD).await
    }

    /// A tenant, its administrator (through the gateway) and their token:
    /// `(tenant_id, token)`.
    pub async fn tenant(&self, admin: &str, code: &str) -> (String, String) {
        let body = json!({"tenant_code": code, "name": format!("Tenant {code}"), "max_accounts": 10, "max_daily_messages": 100000});
        let tenant = self.post("/api/v1/tenants", admin, body).await.ok().json;
        let id = tenant["id"].as_str().expect("tenant id").to_owned();
        let user = json!({
            "tenant_id": id, "username": format!("{code}-op"), "email": format!("{code}-op@example.com"),
            "display_name": "Operator", "password": "a-long-passphrase-1", "roles": ["admin"],
        });
        self.post("/api/v1/users", admin, user).await.ok();
        let token = self.login(code, &format!("{code}-op"), "a-long-passphrase-1").await;
        (id, token)
    }

    /// Registers the simulator as an instance (platform admin).
    pub async fn register_sim(&self, admin: &str) {
        let body = json!({"name": "sim", "api_url": self.sim.base_url(), "token": self.sim.token()});
        self.post("/api/v1/instances", admin, body).await.ok();
    }
}

/// A gateway answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Reply {
    async fn from(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self { status, headers, json }
    }

    /// Asserts a 200 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.status, StatusCode::OK, "{}", self.json);
        self
    }

    /// Asserts a problem+json answer with this status.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.json);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(self.json["status"], status);
        assert!(self.json["request_id"].is_string(), "{}", self.json);
        &self.json
    }
}
