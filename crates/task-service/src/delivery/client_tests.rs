use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap as AxumHeaders, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{any, get};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wework_kit::clock::{Clock, ManualClock};

use super::*;

/// The tenant's receiver: counts every request, records the signed one.
#[derive(Default)]
struct SinkState {
    hits: AtomicUsize,
    target_hits: AtomicUsize,
    seen: Mutex<Option<(AxumHeaders, Bytes)>>,
}

struct Sink {
    addr: SocketAddr,
    state: Arc<SinkState>,
}

impl Sink {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
}

const SINK_SECRET: [u8; 32] = [42; 32];

async fn count(State(state): State<Arc<SinkState>>, request: Request, next: Next) -> AxumResponse {
    state.hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

async fn signed(State(state): State<Arc<SinkState>>, headers: AxumHeaders, body: Bytes) -> StatusCode {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut mac = Hmac::<Sha256>::new_from_slice(&SINK_SECRET).expect("hmac key");
    mac.update(format!("{}.{}.", text("webhook-id"), text("webhook-timestamp")).as_bytes());
    mac.update(&body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let valid = text("webhook-signature").split(' ').any(|sig| sig == expected);
    *state.seen.lock().expect("sink lock") = Some((headers, body));
    if valid { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
}

async fn spawn_sink() -> Sink {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
    let addr = listener.local_addr().expect("sink addr");
    let state = Arc::new(SinkState::default());
    let target = format!("http://{addr}/target");
    let app = Router::new()
        .route("/ok", any(|| async { ([("x-receiver", "sink")], "accepted") }))
        .route("/fail", any(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/busy", any(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")], "slow down") }))
        .route(
            "/busy-until",
            any(|| async {
                (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT")], "")
            }),
        )
        .route("/redirect", any(move || async move { (StatusCode::FOUND, [(header::LOCATION, target)]) }))
        .route(
            "/target",
            get(|State(state): State<Arc<SinkState>>| async move {
                state.target_hits.fetch_add(1, Ordering::SeqCst);
                "fetched"
            }),
        )
        .route("/hang", any(std::future::pending::<()>))
        .route("/big", any(|| async { vec![b'x'; 100 * 1024].into_response() }))
        .route("/signed", any(signed))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), count))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Sink { addr, state }
}

fn clock() -> ManualClock {
    ManualClock::new(DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z").expect("time").with_timezone(&Utc))
}

fn deliverer(settings: DeliverySettings) -> Deliverer {
    Deliverer::new(&settings, clock().shared()).expect("deliverer")
}

fn loopback_allowed() -> Deliverer {
    deliverer(DeliverySettings { allow_loopback: true, ..DeliverySettings::default() })
}

fn request(url: String) -> OutboundRequest {
    OutboundRequest {
        url,
        method: Method::POST,
        headers: Vec::new(),
        content_type: "application/json".into(),
        body: Bytes::from_static(br#"{"type":"task.fired"}"#),
        timeout: Duration::from_secs(10),
        webhook_id: "msg_2Yh3".into(),
        timestamp_secs: 1_700_000_000,
        secrets: Vec::new(),
        traceparent: None,
    }
}

fn kind(report: &AttemptReport) -> Option<DeliveryErrorKind> {
    report.error.as_ref().map(|e| e.kind)
}

#[tokio::test]
async fn success_reports_status_headers_and_body() {
    let sink = spawn_sink().await;
    let report = loopback_allowed().deliver(request(sink.url("/ok"))).await;
    assert_eq!(report.error, None);
    assert_eq!(report.status, Some(200));
    assert_eq!(report.body, "accepted");
    assert!(!report.truncated);
    assert!(report.headers.contains(&("x-receiver".into(), "sink".into())), "{:?}", report.headers);
    assert_eq!(report.retry_after, None);
}

#[tokio::test]
async fn server_error_is_a_status_not_an_error() {
    let sink = spawn_sink().await;
    let report = loopback_allowed().deliver(request(sink.url("/fail"))).await;
    assert_eq!((report.status, report.body.as_str(), report.error), (Some(500), "boom", None));
}

#[tokio::test]
async fn retry_after_is_read_as_seconds_or_http_date() {
    let sink = spawn_sink().await;
    let busy = loopback_allowed().deliver(request(sink.url("/busy"))).await;
    assert_eq!((busy.status, busy.retry_after), (Some(429), Some(Duration::from_secs(7))));
    // The injected clock reads 07:27:00; the sink asks for 07:28:00.
    let until = loopback_allowed().deliver(request(sink.url("/busy-until"))).await;
    assert_eq!((until.status, until.retry_after), (Some(503), Some(Duration::from_secs(60))));
}

#[test]
fn retry_after_parsing() {
    let now = clock().now();
    assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now), Some(Duration::from_secs(150)));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("-5", now), None);
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("", now), None);
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let sink = spawn_sink().await;
    let report = loopback_allowed().deliver(request(sink.url("/redirect"))).await;
    assert_eq!(report.status, Some(302));
    assert_eq!(report.error, None);
    assert!(report.headers.iter().any(|(n, v)| n == "location" && v.ends_with("/target")));
    assert_eq!(sink.state.target_hits.load(Ordering::SeqCst), 0);
    assert_eq!(sink.hits(), 1);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let sink = spawn_sink().await;
    let report = loopback_allowed()
        .deliver(OutboundRequest { timeout: Duration::from_millis(200), ..request(sink.url("/hang")) })
        .await;
    assert_eq!(
        report.error.map(|e| (e.kind, e.message)),
        Some((DeliveryErrorKind::Timeout, "timed out after 200 ms".into()))
    );
    assert_eq!(report.status, None);
    assert!(report.duration >= Duration::from_millis(200));
    assert!(report.duration < Duration::from_secs(5), "{:?}", report.duration);
}

#[tokio::test]
async fn response_body_is_capped() {
    let sink = spawn_sink().await;
    let report = loopback_allowed().deliver(request(sink.url("/big"))).await;
    assert_eq!(report.status, Some(200));
    assert_eq!(report.error, None);
    assert_eq!(report.body.len(), 16 * 1024);
    assert!(report.truncated);
}

#[tokio::test]
async fn signs_and_sets_the_webhook_headers() {
    let sink = spawn_sink().await;
    let secret = SigningSecret::from_bytes(&SINK_SECRET).expect("secret");
    let mut req = request(sink.url("/signed"));
    req.secrets = vec![SigningSecret::generate(), secret];
    req.headers = vec![("X-Tenant".into(), "acme".into()), ("webhook-id".into(), "forged".into())];
    let report = loopback_allowed().deliver(req).await;
    assert_eq!(report.status, Some(204), "the sink's independent HMAC must accept the rotated pair");

    let (headers, body) = sink.state.seen.lock().expect("sink lock").take().expect("sink saw the request");
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(body.as_ref(), br#"{"type":"task.fired"}"#);
    assert_eq!(text("webhook-id").as_deref(), Some("msg_2Yh3"));
    assert_eq!(headers.get_all("webhook-id").iter().count(), 1);
    assert_eq!(text("webhook-timestamp").as_deref(), Some("1700000000"));
    assert_eq!(text("webhook-signature").map(|s| s.split(' ').count()), Some(2));
    assert_eq!(text("content-type").as_deref(), Some("application/json"));
    assert_eq!(text("x-tenant").as_deref(), Some("acme"));
    let agent = text("user-agent").expect("user agent");
    assert!(agent.starts_with("WeWorkTaskCenter/") && agent.ends_with(" (+webhook)"), "{agent}");
}

#[tokio::test]
async fn the_trace_context_goes_along_unless_the_task_sets_its_own() {
    let sink = spawn_sink().await;
    let ours = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for (task_headers, expected) in [(Vec::new(), ours), (vec![("traceparent".to_owned(), theirs.to_owned())], theirs)]
    {
        let req =
            OutboundRequest { headers: task_headers, traceparent: Some(ours.into()), ..request(sink.url("/signed")) };
        loopback_allowed().deliver(req).await;
        let (headers, _) = sink.state.seen.lock().expect("sink lock").take().expect("sink saw the request");
        let sent: Vec<_> = headers.get_all("traceparent").iter().filter_map(|v| v.to_str().ok()).collect();
        assert_eq!(sent, [expected]);
    }
}

#[tokio::test]
async fn unsigned_when_there_are_no_secrets() {
    let sink = spawn_sink().await;
    let mut req = request(sink.url("/signed"));
    req.headers = vec![("Webhook-Signature".into(), "v1,typed-in".into())];
    let report = loopback_allowed().deliver(req).await;
    assert_eq!(report.status, Some(401));
    let (headers, _) = sink.state.seen.lock().expect("sink lock").take().expect("sink saw the request");
    assert!(headers.get("webhook-signature").is_none());
}

#[tokio::test]
async fn default_policy_refuses_internal_destinations_without_touching_them() {
    let sink = spawn_sink().await;
    let port = sink.addr.port();
    let strict = deliverer(DeliverySettings::default());
    for url in [
        format!("http://127.0.0.1:{port}/ok"),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        format!("http://2130706433:{port}/ok"),
        format!("http://localhost:{port}/ok"),
    ] {
        let report = strict.deliver(request(url.clone())).await;
        assert_eq!(kind(&report), Some(DeliveryErrorKind::Refused), "{url}: {:?}", report.error);
        assert_eq!(report.status, None, "{url}");
        let message = report.error.map(|e| e.message).unwrap_or_default();
        assert!(message.starts_with("refused: "), "{url}: {message}");
    }
    assert_eq!(sink.hits(), 0);
}

#[tokio::test]
async fn refusal_messages_name_the_reason() {
    let strict = deliverer(DeliverySettings::default());
    let report = strict.deliver(request("http://169.254.169.254/latest/meta-data".into())).await;
    assert_eq!(report.error.map(|e| e.message).as_deref(), Some("refused: 169.254.169.254 is link-local"));
    let sink = spawn_sink().await;
    let named = strict.deliver(request(format!("http://localhost:{}/ok", sink.addr.port()))).await;
    let message = named.error.map(|e| e.message).unwrap_or_default();
    assert!(message.starts_with("refused: localhost resolves to ") && message.ends_with("loopback"), "{message}");
}

#[tokio::test]
async fn an_allowlisted_subnet_lets_the_sink_through() {
    let sink = spawn_sink().await;
    let allowed = deliverer(DeliverySettings { allow_subnets: vec!["127.0.0.0/8".into()], ..Default::default() });
    let report = allowed.deliver(request(sink.url("/ok"))).await;
    assert_eq!((report.status, report.error), (Some(200), None));
    let by_name = allowed.deliver(request(format!("http://localhost:{}/ok", sink.addr.port()))).await;
    assert_eq!((by_name.status, by_name.error), (Some(200), None));
    assert_eq!(sink.hits(), 2);
}

#[tokio::test]
async fn malformed_requests_are_rejected_before_sending() {
    let sink = spawn_sink().await;
    let client = loopback_allowed();
    let bad_header = OutboundRequest { headers: vec![("bad header".into(), "x".into())], ..request(sink.url("/ok")) };
    let framing = OutboundRequest { headers: vec![("Content-Length".into(), "1".into())], ..request(sink.url("/ok")) };
    for req in [request("not a url".into()), request("ftp://example.com/".into()), bad_header, framing] {
        let report = client.deliver(req).await;
        assert_eq!(kind(&report), Some(DeliveryErrorKind::InvalidRequest), "{:?}", report.error);
    }
    assert_eq!(sink.hits(), 0);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_without_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let report = loopback_allowed().deliver(request(format!("http://user:hunter2@127.0.0.1:{port}/x?token=t0k"))).await;
    let error = report.error.expect("an error");
    assert_eq!(error.kind, DeliveryErrorKind::Connect, "{}", error.message);
    assert!(!error.message.contains("hunter2") && !error.message.contains("t0k"), "{}", error.message);
}

#[test]
fn settings_defaults_and_validation() {
    let defaults = DeliverySettings::default();
    assert_eq!(defaults.user_agent, format!("WeWorkTaskCenter/{} (+webhook)", env!("CARGO_PKG_VERSION")));
    assert_eq!((defaults.connect_timeout_ms, defaults.max_response_bytes), (5_000, 16_384));
    assert!(!defaults.allow_loopback && defaults.allow_subnets.is_empty() && defaults.retry_statuses.is_empty());
    let mut ok = Problems::default();
    defaults.validate(&mut ok);
    assert!(ok.into_result().is_ok());

    let bad = DeliverySettings {
        allow_subnets: vec!["10.1.0.0/16".into(), "10.1.0.0".into()],
        retry_statuses: vec![409, 503],
        connect_timeout_ms: 0,
        ..DeliverySettings::default()
    };
    let mut problems = Problems::default();
    bad.validate(&mut problems);
    let message = problems.into_result().expect_err("invalid").to_string();
    for fragment in ["\"10.1.0.0\" is not a CIDR", "503 is not a 4xx", "connect_timeout_ms"] {
        assert!(message.contains(fragment), "{message}");
    }
    assert!(bad.address_policy().is_err());
    assert!(Deliverer::new(&bad, clock().shared()).is_err());

    let parsed: DeliverySettings = serde_json::from_str(r#"{"allow_subnets":["10.1.0.0/16"]}"#).expect("json");
    assert_eq!(parsed.address_policy().map(|p| p.allow.len()), Ok(1));
    assert_eq!(parsed.max_response_bytes, 16_384);
}
