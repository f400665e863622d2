//! A local webhook receiver: records every request and answers per path:
//! `/ok` 200, `/fail` 500, `/gone` 410, `/throttle` 429 with `Retry-After:
//! 120`, `/big` 200 with a 100 KiB body, `/hold`
//! 200 once the test calls [`Sink::release`]. It also
//! tracks how many requests per `webhook-id` are in progress at once, so a
//! test can prove no task ever ran twice concurrently.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    in_progress: HashMap<String, usize>,
    max_concurrent_same_id: usize,
}

#[derive(Clone, Default)]
pub struct Sink {
    inner: Arc<Mutex<Inner>>,
    gate: Arc<tokio::sync::Notify>,
    pub addr: Option<SocketAddr>,
}

impl Sink {
    pub async fn start() -> Sink {
        let mut sink = Sink::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        sink.addr = Some(listener.local_addr().expect("addr"));
        let app = Router::new().fallback(handle).with_state(sink.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        sink
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("started"))
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("sink lock").received.clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.inner.lock().expect("sink lock").received.iter().filter(|r| r.path == path).count()
    }

    /// Lets the requests waiting on `/hold` answer.
    pub fn release(&self) {
        self.gate.notify_waiters();
    }

    pub fn max_concurrent_same_id(&self) -> usize {
        self.inner.lock().expect("sink lock").max_concurrent_same_id
    }
}

async fn handle(State(sink): State<Sink>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let id = header("webhook-id");
    {
        let mut inner = sink.inner.lock().expect("sink lock");
        let n = inner.in_progress.entry(id.clone()).or_default();
        *n += 1;
        let now = *n;
        inner.max_concurrent_same_id = inner.max_concurrent_same_id.max(now);
        inner.received.push(Received {
            path: uri.path().to_owned(),
            webhook_id: id.clone(),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            headers: headers.clone(),
            body,
        });
    }
    let response = match uri.path() {
        "/fail" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/gone" => StatusCode::GONE.into_response(),
        "/redirect" => (StatusCode::FOUND, [("location", "/ok")]).into_response(),
        "/throttle" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")]).into_response(),
        "/big" => (StatusCode::OK, "x".repeat(100 * 1024)).into_response(),
        "/hold" => {
            sink.gate.notified().await;
            StatusCode::OK.into_response()
        }
        _ => (StatusCode::OK, "ok").into_response(),
    };
    if let Some(n) = sink.inner.lock().expect("sink lock").in_progress.get_mut(&id) {
        *n -= 1;
    }
    response
}
