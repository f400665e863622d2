//! `TestSim`: a simulator on 127.0.0.1:0, a driver for it and a callback
//! receiver that verifies each callback's signature and keeps the envelopes
//! in arrival order. Waits poll with a deadline.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use wework_client::callback::verify;
use wework_client::protocol::{CreateClientRequest, HEADER_CALLBACK_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use wework_client::{CallbackEnvelope, HttpProvider, HttpProviderConfig, NotifyType, WeworkProvider};
use wework_sim::{CallbackConfig, SimConfig, Simulator};

const DEADLINE: Duration = Duration::from_secs(5);

/// Polls `f` until it yields, panicking after the deadline.
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub callback_id: String,
    pub envelope: CallbackEnvelope,
}

#[derive(Default)]
struct Sink {
    token: String,
    received: Mutex<Vec<Received>>,
    fail_next: AtomicU32,
    bad_signatures: AtomicU32,
}

/// A local notify-url endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    sink: Arc<Sink>,
}

async fn receive(State(sink): State<Arc<Sink>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let now = chrono::Utc::now().timestamp();
    let checked = verify(sink.token.as_bytes(), &header(HEADER_TIMESTAMP), &header(HEADER_SIGNATURE), &body, now, 300);
    if checked.is_err() {
        sink.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if sink.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let Ok(envelope) = serde_json::from_slice::<CallbackEnvelope>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    sink.received.lock().unwrap().push(Received { callback_id: header(HEADER_CALLBACK_ID), envelope });
    StatusCode::OK
}

impl Receiver {
    pub async fn start(token: &str) -> Self {
        let sink = Arc::new(Sink { token: token.to_owned(), ..Sink::default() });
        let app = Router::new().route("/cb", post(receive)).with_state(Arc::clone(&sink));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/cb", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, sink }
    }

    /// The next `n` deliveries answer 500.
    pub fn fail_next(&self, n: u32) {
        self.sink.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn bad_signatures(&self) -> u32 {
        self.sink.bad_signatures.load(Ordering::SeqCst)
    }

    /// Everything received for `guid`, heartbeats included.
    pub fn all_of(&self, guid: &str) -> Vec<Received> {
        self.sink.received.lock().unwrap().iter().filter(|r| r.envelope.guid == guid).cloned().collect()
    }

    /// Notify types received for `guid`, heartbeats left out.
    pub fn types_of(&self, guid: &str) -> Vec<i32> {
        self.all_of(guid)
            .into_iter()
            .map(|r| r.envelope.notify_type)
            .filter(|t| *t != NotifyType::Heartbeat.code())
            .collect()
    }

    /// Waits until `guid` has received a callback of `kind` (at least `n` in all).
    pub async fn wait_count(&self, guid: &str, kind: NotifyType, n: usize) -> Vec<CallbackEnvelope> {
        eventually(&format!("{n} × {} for {guid}", kind.name()), || {
            let hits: Vec<_> =
                self.all_of(guid).into_iter().map(|r| r.envelope).filter(|e| e.notify_type == kind.code()).collect();
            (hits.len() >= n).then_some(hits)
        })
        .await
    }

    pub async fn wait_for(&self, guid: &str, kind: NotifyType) -> CallbackEnvelope {
        self.wait_count(guid, kind, 1).await.pop().unwrap()
    }
}

pub struct TestSim {
    pub sim: Simulator,
    pub provider: HttpProvider,
    pub receiver: Receiver,
}

/// Fast defaults for tests: no heartbeat ticker, quick callback retries.
pub fn test_config() -> SimConfig {
    SimConfig {
        heartbeat_interval: Duration::ZERO,
        callbacks: CallbackConfig {
            max_attempts: 5,
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            timeout: Duration::from_secs(2),
        },
        ..SimConfig::default()
    }
}

pub fn driver_config() -> HttpProviderConfig {
    HttpProviderConfig {
        request_timeout: Duration::from_secs(2),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..HttpProviderConfig::default()
    }
}

impl TestSim {
    pub async fn start() -> Self {
        Self::with(test_config()).await
    }

    pub async fn with(config: SimConfig) -> Self {
        let sim = Simulator::start(config).await.unwrap();
        let provider = HttpProvider::new(&sim.base_url(), sim.token(), driver_config()).unwrap();
        let receiver = Receiver::start(sim.token()).await;
        Self { sim, provider, receiver }
    }

    /// A driver with other timeouts and retries.
    pub fn driver(&self, config: HttpProviderConfig) -> HttpProvider {
        HttpProvider::new(&self.sim.base_url(), self.sim.token(), config).unwrap()
    }

    pub async fn create(&self) -> String {
        let req = CreateClientRequest { notify_url: Some(self.receiver.url.clone()), ..Default::default() };
        self.provider.create_client(&req).await.unwrap().guid
    }

    /// A client logged in through the whole flow, its login callbacks received.
    pub async fn online(&self) -> String {
        let guid = self.create().await;
        self.provider.get_qr_code(&guid).await.unwrap();
        self.sim.login(&guid).await.unwrap();
        self.receiver.wait_for(&guid, NotifyType::ContactSyncFinished).await;
        guid
    }
}
