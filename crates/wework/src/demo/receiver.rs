//! The demo's webhook receiver: a local HTTP endpoint that records what the
//! task center delivers and checks each Standard Webhooks signature with the
//! endpoint's signing secret, as a tenant's own receiver would.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use task_service::delivery::{SigningSecret, verify};

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Bytes,
}

impl Delivery {
    pub fn event_type(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    }

    pub fn signature_valid(&self, secret: &SigningSecret) -> bool {
        self.timestamp.parse::<i64>().is_ok_and(|ts| verify(secret, &self.id, ts, &self.body, &self.signature))
    }
}

type Log = Arc<Mutex<Vec<Delivery>>>;

pub struct Receiver {
    pub url: String,
    log: Log,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhook", listener.local_addr()?);
        let log = Log::default();
        let app = Router::new().fallback(record).with_state(log.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, log })
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn record(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> &'static str {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let delivery = Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    };
    log.lock().unwrap_or_else(PoisonError::into_inner).push(delivery);
    "ok"
}
