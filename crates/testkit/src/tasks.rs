//! A real task center in the test's process (same internal secret, the
//! same user service) and a local webhook receiver: the services' tenant
//! events travel through it to a tenant's webhook, signed (Standard
//! Webhooks), and [`signature_valid`] checks them with the task center's
//! own verifier.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use secrecy::SecretString;
use tonic::transport::Channel;
use wework_kit::shutdown::Shutdown;
use wework_kit::testing;
use wework_proto::task::{self as tpb, endpoint_service_client::EndpointServiceClient};

use crate::authed;

/// The task center's durable parts (database, key files), kept across a
/// restart of the service.
pub struct TaskCenterData {
    db: testing::TestDatabase,
    data_dir: tempfile::TempDir,
}

impl TaskCenterData {
    pub async fn new() -> Self {
        Self { db: testing::fresh_database("task").await, data_dir: tempfile::tempdir().expect("tempdir") }
    }
}

/// A task service on a random loopback port; stops when dropped.
pub struct TaskCenter {
    shutdown: Shutdown,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub addr: SocketAddr,
    pub channel: Channel,
    /// Where it announces live events (per test with Redis); a gateway
    /// streaming them must use the same.
    pub events_prefix: String,
}

impl Drop for TaskCenter {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

impl TaskCenter {
    pub async fn spawn(data: &TaskCenterData, secret: &SecretString, user_service_url: &str) -> Self {
        let mut settings = task_service::Settings {
            server: testing::server_settings(),
            database: data.db.settings.clone(),
            cache: testing::cache_settings("task"),
            ..Default::default()
        };
        settings.auth.data_dir = data.data_dir.path().to_path_buf();
        settings.auth.internal_secret = Some(secret.clone());
        settings.auth.user_service_url = user_service_url.to_owned();
        settings.delivery.allow_loopback = true;
        settings.worker.idle_poll_ms = 20;
        let events_prefix = settings.cache.events_prefix.clone();
        let listeners = wework_kit::server::Listeners::bind(&settings.server).await.expect("bind task center");
        let addr = listeners.grpc_addr();
        let state = task_service::build(settings, wework_kit::clock::system()).await.expect("build task center");
        let shutdown = Shutdown::new();
        let served = tokio::spawn(task_service::serve(state, listeners, shutdown.clone()));
        let channel = Channel::from_shared(format!("http://{addr}")).expect("url").connect_lazy();
        Self { shutdown, served: Some(served), addr, channel, events_prefix }
    }

    /// Stops serving and waits until it has stopped.
    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
    }

    /// Points the tenant's webhook (its default endpoint) at `url`; returns
    /// the signing secret (`whsec_…`).
    pub async fn set_webhook(&self, tenant_token: &str, url: &str) -> String {
        let req = tpb::UpsertEndpointRequest { url: url.to_owned(), ..Default::default() };
        let resp = EndpointServiceClient::new(self.channel.clone())
            .upsert_endpoint(authed(tenant_token, req))
            .await
            .expect("upsert endpoint")
            .into_inner();
        resp.signing_secret
    }
}

/// One delivery the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// A tenant's webhook receiver answering 200 to everything.
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
    pub url: String,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let receiver = Receiver { url, ..Default::default() };
        let app = Router::new().fallback(record).with_state(receiver.got.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().expect("lock").clone()
    }
}

async fn record(State(got): State<Arc<Mutex<Vec<Delivery>>>>, headers: HeaderMap, body: Bytes) -> &'static str {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    got.lock().expect("lock").push(Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    "ok"
}

/// Whether the Standard Webhooks signature of a delivery verifies with the
/// endpoint's `whsec_` secret (the task center's own verifier).
pub fn signature_valid(d: &Delivery, whsec: &str) -> bool {
    let Ok(secret) = task_service::delivery::SigningSecret::parse_whsec(whsec) else {
        return false;
    };
    let Ok(ts) = d.timestamp.parse::<i64>() else {
        return false;
    };
    task_service::delivery::verify(&secret, &d.id, ts, &d.body, &d.signature)
}
