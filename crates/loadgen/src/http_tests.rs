//! `loadgen http` against a real axum server on an ephemeral loopback port:
//! target checks, keep-alive reuse, error keys, the open-loop schedule.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::*;
use crate::client::ClientError;

/// What the server saw: the client ports it was reached from, and POSTed bodies.
#[derive(Default)]
struct Seen {
    peers: Mutex<HashSet<SocketAddr>>,
    bodies: AtomicU64,
    body_bytes: AtomicU64,
}

struct Server {
    base: String,
    seen: Arc<Seen>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start() -> Self {
        let seen = Arc::new(Seen::default());
        let app = Router::new()
            .route("/private", get(private))
            .route("/echo", post(echo))
            .route("/down", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "backend down") }))
            .with_state(seen.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Self { base, seen, stop: Some(stop), task }
    }

    fn target(&self, path: &str) -> HttpTarget {
        HttpTarget { url: format!("{}{path}", self.base), method: "GET".into(), headers: vec![], body: None }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Idle keep-alive connections hold a graceful shutdown open; the test is done with them.
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn private(
    State(seen): State<Arc<Seen>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    seen.peers.lock().expect("peers lock").insert(peer);
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bearer t0k:en==") => (StatusCode::OK, r#"{"id":"1"}"#),
        _ => (StatusCode::UNAUTHORIZED, r#"{"title":"missing token"}"#),
    }
}

async fn echo(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "json only".into());
    }
    seen.bodies.fetch_add(1, Ordering::Relaxed);
    seen.body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    (StatusCode::OK, body)
}

fn plan(concurrency: usize, millis: u64, rate: Option<f64>) -> Plan {
    Plan { concurrency, warmup: Duration::ZERO, duration: Duration::from_millis(millis), rate }
}

#[test]
fn headers_parse_in_both_spellings() {
    let map = parse_http_headers(&["Authorization: Bearer a:b==".into(), "x-tenant=t1".into()]).expect("headers");
    assert_eq!(map.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer a:b=="));
    assert_eq!(map.get("x-tenant").and_then(|v| v.to_str().ok()), Some("t1"));
    for bad in ["novalue", "bad name: x", ": empty name"] {
        assert!(matches!(parse_http_headers(&[bad.into()]), Err(HttpTargetError::BadHeader(_))), "{bad}");
    }
}

#[test]
fn targets_are_checked_before_anything_is_sent() {
    let target = |url: &str| HttpTarget { url: url.into(), method: "GET".into(), headers: vec![], body: None };
    for remote in ["http://10.0.0.1:8080/healthz", "http://127.0.0.1@10.0.0.1/", "http://example.com/"] {
        assert!(
            matches!(target(remote).prepare(), Err(HttpTargetError::Target(ClientError::NotLoopback(_)))),
            "{remote}"
        );
    }
    assert!(matches!(target("https://127.0.0.1:8443/").prepare(), Err(HttpTargetError::NotHttp(_))));
    let bad_method = HttpTarget { method: "GE T".into(), ..target("http://127.0.0.1:8080/") };
    assert!(matches!(bad_method.prepare(), Err(HttpTargetError::BadMethod(_))));

    let call = target("http://localhost:8080/api/v1/accounts/7?x=1").prepare().expect("loopback GET");
    assert_eq!((call.method.as_str(), call.url.path(), call.body.is_none()), ("GET", "/api/v1/accounts/7", true));
    assert!(call.headers.get("content-type").is_none());
}

#[test]
fn bodies_are_json_unless_a_content_type_says_otherwise() {
    let post = |body: &str, headers: Vec<String>| HttpTarget {
        url: "http://127.0.0.1:8080/api/v1/accounts".into(),
        method: "post".into(),
        headers,
        body: Some(body.into()),
    };
    let call = post(r#"{"account_name":"bench"}"#, vec![]).prepare().expect("json body");
    assert_eq!(call.method, reqwest::Method::POST);
    assert_eq!(call.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    assert_eq!(call.body.as_deref(), Some(br#"{"account_name":"bench"}"#.as_slice()));

    assert!(matches!(post("{oops", vec![]).prepare(), Err(HttpTargetError::BodyNotJson(_))));
    let csv = post("a,b\n1,2\n", vec!["content-type: text/csv".into()]).prepare().expect("explicit content type");
    assert_eq!(csv.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("text/csv"));

    let path = std::env::temp_dir().join(format!("loadgen-body-{}.json", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, r#"{"from":"file"}"#).expect("write body file");
    let from_file = post(&format!("@{}", path.display()), vec![]).prepare().expect("body file");
    assert_eq!(from_file.body.as_deref(), Some(br#"{"from":"file"}"#.as_slice()));
    let _ = std::fs::remove_file(&path);
    assert!(matches!(post("@/no/such/file.json", vec![]).prepare(), Err(HttpTargetError::BodyFile { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_succeeds_over_kept_alive_connections() {
    let server = Server::start().await;
    let target = HttpTarget { headers: vec!["authorization: Bearer t0k:en==".into()], ..server.target("/private") };
    let plan = Plan { warmup: Duration::from_millis(100), ..plan(4, 1000, None) };
    let report = run_http_load(&target, plan, Some(std::process::id())).await.expect("run");
    assert!(report.ok > 0, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.total, report.ok);
    assert_eq!((report.method.as_str(), report.concurrency), ("GET", 4));
    assert!(report.ok_rps > 0.0 && report.latency_ms.p50 <= report.latency_ms.max);
    assert!(report.memory.is_some_and(|m| m.rss_kib > 0) || !cfg!(target_os = "linux"));
    // Thousands of requests over a handful of connections: the pool keeps them
    // alive. (Not exactly one per worker: a request may check out a fresh
    // connection while a finished one is still being returned to the pool.)
    let peers = server.seen.peers.lock().expect("peers lock").len();
    assert!((1..=8).contains(&peers), "{peers} connections for {} requests", report.total);
    assert!(report.total >= 100 * peers as u64, "{peers} connections for {} requests", report.total);
    server.stop().await;
}

#[tokio::test]
async fn non_2xx_answers_are_errors_keyed_by_status_with_a_sample_body() {
    let server = Server::start().await;
    let report = run_http_load(&server.target("/down"), plan(2, 200, None), None).await.expect("run");
    assert_eq!(report.ok, 0);
    let e = report.errors.get("HTTP 503").expect("503s counted");
    assert_eq!((e.count, e.sample.as_str()), (report.total, "backend down"));
    assert!(report.total > 0);

    // The same route that succeeds with the header fails without it.
    let report = run_http_load(&server.target("/private"), plan(2, 200, None), None).await.expect("run");
    let e = report.errors.get("HTTP 401").expect("401s counted");
    assert_eq!((e.count, e.sample.as_str()), (report.total, r#"{"title":"missing token"}"#));
    let missing = run_http_load(&server.target("/nope"), plan(1, 100, None), None).await.expect("run");
    assert!(missing.errors.contains_key("HTTP 404"), "{missing:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_open_loop_post_sends_exactly_its_schedule_with_the_body() {
    let server = Server::start().await;
    let body = r#"{"account_name":"bench"}"#;
    let target = HttpTarget { method: "POST".into(), body: Some(body.into()), ..server.target("/echo") };
    let report = run_http_load(&target, plan(4, 500, Some(100.0)), None).await.expect("run");
    // 100 req/s for 0.5 s is exactly 50 scheduled sends, however busy the machine is.
    assert_eq!(report.ok, 50, "{report:?}");
    assert_eq!(server.seen.bodies.load(Ordering::Relaxed), 50);
    assert_eq!(server.seen.body_bytes.load(Ordering::Relaxed), 50 * body.len() as u64);
    server.stop().await;
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let url = format!("http://{}/healthz", listener.local_addr().expect("local addr"));
    drop(listener);
    let target = HttpTarget { url, method: "GET".into(), headers: vec![], body: None };
    let report = run_http_load(&target, plan(1, 100, Some(50.0)), None).await.expect("run");
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.get("connect").map(|e| e.count), Some(5), "{report:?}");
}
