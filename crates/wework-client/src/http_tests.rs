//! The driver against a local stub instance: decoding, classification,
//! retries, timeouts, and keeping the token to itself. The stub replays a
//! script of replies (the last one repeats) and records every request, so a
//! test can count attempts instead of waiting for them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;
use crate::protocol::{ChatType, ClientState, MessageContent};

const TOKEN: &str = "s3cr3t-instance-token";

/// One scripted answer of the stub.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    fn raw(status: u16, body: &str) -> Self {
        Self { status, headers: Vec::new(), body: body.to_owned(), delay: Duration::ZERO }
    }

    fn json(status: u16, body: Value) -> Self {
        Self::raw(status, &body.to_string()).header("content-type", "application/json")
    }

    fn ok(data: Value) -> Self {
        Self::json(200, json!({"code": 0, "message": "ok", "data": data}))
    }

    /// An error as a conforming instance sends it: the code's HTTP status and no `data`.
    fn error(code: ErrorCode, message: &str) -> Self {
        Self::json(code.http_status(), json!({"code": code as i32, "message": message}))
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the stub saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    authorization: Option<String>,
    traceparent: Option<String>,
    body: Bytes,
}

struct StubState {
    script: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

struct Stub {
    addr: SocketAddr,
    state: Arc<StubState>,
}

impl Stub {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("stub lock").clone()
    }

    fn hits(&self) -> usize {
        self.state.seen.lock().expect("stub lock").len()
    }
}

async fn answer(
    State(state): State<Arc<StubState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, traceparent) = (text(header::AUTHORIZATION.as_str()), text("traceparent"));
    let path = uri.path().to_owned();
    state.seen.lock().expect("stub lock").push(Seen { method, path, authorization, traceparent, body });
    let reply = {
        let mut script = state.script.lock().expect("stub lock");
        if script.len() > 1 { script.pop_front() } else { script.front().cloned() }
    };
    let Some(reply) = reply else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).expect("status"), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_str(&value).expect("header"));
    }
    response
}

async fn spawn_stub(script: Vec<Reply>) -> Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
    let addr = listener.local_addr().expect("stub addr");
    let state = Arc::new(StubState { script: Mutex::new(script.into()), seen: Mutex::new(Vec::new()) });
    let app = Router::new().fallback(answer).with_state(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Stub { addr, state }
}

/// Fast backoff so retry tests take milliseconds.
fn config() -> HttpProviderConfig {
    HttpProviderConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        trace_context: None,
    }
}

fn provider(stub: &Stub) -> HttpProvider {
    HttpProvider::new(&stub.url(), TOKEN, config()).expect("provider")
}

fn send_request() -> SendMessageRequest {
    SendMessageRequest {
        guid: "g1".into(),
        client_msg_id: "m-1".into(),
        chat_id: "room-1".into(),
        chat_type: ChatType::Group,
        content: MessageContent::Text { text: "hello".into() },
        at_list: vec!["all".into()],
    }
}

/// Calls one provider method by name and drops its result, so one table
/// covers every endpoint.
async fn call(p: &HttpProvider, method: &str) -> ProviderResult<()> {
    let list = ListRequest { guid: "g1".into(), cursor: String::new(), limit: 100, group_id: Some("r1".into()) };
    match method {
        "health" => p.health().await.map(drop),
        "create_client" => p.create_client(&CreateClientRequest::default()).await.map(drop),
        "get_qr_code" => p.get_qr_code("g1").await.map(drop),
        "submit_verify_code" => p.submit_verify_code("g1", "123456").await,
        "logout" => p.logout("g1").await,
        "restore" => p.restore("g1").await.map(drop),
        "set_notify_url" => p.set_notify_url("g1", "http://platform/cb").await,
        "status" => p.status("g1").await.map(drop),
        "send_message" => p.send_message(&send_request()).await.map(drop),
        "list_contacts" => p.list_contacts(&list).await.map(drop),
        "list_groups" => p.list_groups(&list).await.map(drop),
        "list_group_members" => p.list_group_members(&list).await.map(drop),
        other => panic!("no provider method {other}"),
    }
}

const IDEMPOTENT: [&str; 10] = [
    "health",
    "get_qr_code",
    "logout",
    "restore",
    "set_notify_url",
    "status",
    "send_message",
    "list_contacts",
    "list_groups",
    "list_group_members",
];

#[tokio::test]
async fn decodes_success_and_sends_the_bearer_token() {
    let user = json!({"user_id": "u1", "name": "Ann", "corp_id": "c1"});
    let stub = spawn_stub(vec![Reply::ok(json!({"guid": "g1", "state": "online", "user_info": user}))]).await;
    let status = provider(&stub).status("g1").await.expect("status");
    assert_eq!(status.state, ClientState::Online);
    assert_eq!(status.user_info.map(|u| u.name), Some("Ann".to_owned()));

    let seen = stub.seen();
    assert_eq!((seen[0].method.clone(), seen[0].path.as_str()), (Method::POST, paths::CLIENT_STATUS));
    assert_eq!(seen[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(serde_json::from_slice::<Value>(&seen[0].body).expect("json body"), json!({"guid": "g1"}));
    assert_eq!(seen[0].traceparent, None, "no trace context configured, no header");
}

#[tokio::test]
async fn the_callers_trace_context_is_sent_as_traceparent() {
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let stub = spawn_stub(vec![Reply::ok(json!({"guid": "g1", "state": "online"}))]).await;
    let traced = HttpProviderConfig { trace_context: Some(|| Some(PARENT.to_owned())), ..config() };
    HttpProvider::new(&stub.url(), TOKEN, traced).expect("provider").status("g1").await.expect("status");
    assert_eq!(stub.seen()[0].traceparent.as_deref(), Some(PARENT));
}

#[tokio::test]
async fn health_is_a_get_and_a_trailing_slash_is_dropped() {
    let stub = spawn_stub(vec![Reply::ok(json!({"version": "1.2", "clients": 3, "online": 2}))]).await;
    let p = HttpProvider::new(&format!("{}/", stub.url()), TOKEN, config()).expect("provider");
    let health = p.health().await.expect("health");
    assert_eq!((health.clients, health.online), (3, 2));
    assert_eq!((stub.seen()[0].method.clone(), stub.seen()[0].path.clone()), (Method::GET, paths::HEALTH.to_owned()));
}

#[tokio::test]
async fn sends_flattened_content_and_decodes_pages_and_empty_results() {
    let stub = spawn_stub(vec![
        Reply::ok(json!({"msg_id": "w-9", "duplicate": true})),
        Reply::ok(json!({"items": [{"user_id": "u2", "name": "Bo"}], "next_cursor": "c2"})),
        Reply::ok(json!({})),
    ])
    .await;
    let p = provider(&stub);
    let sent = p.send_message(&send_request()).await.expect("send");
    assert_eq!((sent.msg_id.as_str(), sent.duplicate), ("w-9", true));
    let list = ListRequest { guid: "g1".into(), cursor: String::new(), limit: 500, group_id: None };
    let page = p.list_contacts(&list).await.expect("page");
    assert_eq!((page.items[0].user_id.as_str(), page.next_cursor.as_str()), ("u2", "c2"));
    p.logout("g1").await.expect("logout");

    let body: Value = serde_json::from_slice(&stub.seen()[0].body).expect("json body");
    assert_eq!(body["msg_type"], "text");
    assert_eq!(body["text"], "hello");
    assert_eq!(body["at_list"], json!(["all"]));
    assert_eq!(body["chat_type"], "group");
}

#[tokio::test]
async fn each_error_code_maps_to_its_variant() {
    let cases = [
        (ErrorCode::InvalidRequest, ProviderError::InvalidRequest("why".into())),
        (ErrorCode::Unauthorized, ProviderError::Unauthorized),
        (ErrorCode::UnknownClient, ProviderError::UnknownClient("why".into())),
        (ErrorCode::NotLoggedIn, ProviderError::NotLoggedIn("why".into())),
        (ErrorCode::AccountRestricted, ProviderError::AccountRestricted("why".into())),
        (ErrorCode::RateLimited, ProviderError::RateLimited { retry_after: Duration::from_secs(1) }),
        (ErrorCode::Unavailable, ProviderError::Unavailable { message: "why".into(), timed_out: false }),
    ];
    for (code, expected) in cases {
        let stub = spawn_stub(vec![Reply::error(code, "why")]).await;
        // create_client is never retried: one reply, one verdict.
        assert_eq!(call(&provider(&stub), "create_client").await, Err(expected), "{code:?}");
    }
}

#[tokio::test]
async fn the_body_code_wins_over_the_http_status() {
    let stub = spawn_stub(vec![
        Reply::json(200, json!({"code": 40900, "message": "log in first"})),
        Reply::json(500, json!({"code": 40400, "message": "no such guid"})),
        // An unknown code falls back to the status.
        Reply::json(403, json!({"code": 12345, "message": "banned"})),
    ])
    .await;
    let p = provider(&stub);
    assert_eq!(call(&p, "create_client").await, Err(ProviderError::NotLoggedIn("log in first".into())));
    assert_eq!(call(&p, "create_client").await, Err(ProviderError::UnknownClient("no such guid".into())));
    assert_eq!(call(&p, "create_client").await, Err(ProviderError::AccountRestricted("banned".into())));
}

#[tokio::test]
async fn the_http_status_alone_classifies_a_non_json_body() {
    for (status, code) in [
        (400, "invalid_request"),
        (413, "invalid_request"),
        (422, "invalid_request"),
        (401, "unauthorized"),
        (403, "account_restricted"),
        (404, "unknown_client"),
        (409, "not_logged_in"),
        (429, "rate_limited"),
        (500, "unavailable"),
        (502, "unavailable"),
        (503, "unavailable"),
        (200, "unavailable"),
    ] {
        let stub = spawn_stub(vec![Reply::raw(status, "<html>proxy says no</html>")]).await;
        let error = call(&provider(&stub), "create_client").await.expect_err("an error");
        assert_eq!(error.code(), code, "http {status}");
        assert!(error.to_string().contains(paths::CLIENT_CREATE) || code == "rate_limited" || code == "unauthorized");
    }
}

#[tokio::test]
async fn a_typed_success_without_data_is_unavailable() {
    let stub = spawn_stub(vec![Reply::json(200, json!({"code": 0, "message": "ok"}))]).await;
    let error = provider(&stub).restore("g1").await.expect_err("no data");
    assert!(matches!(error, ProviderError::Unavailable { timed_out: false, .. }), "{error:?}");
}

#[tokio::test]
async fn retry_after_comes_from_the_body_then_the_header() {
    let limited = |body: Value| Reply::json(429, body);
    let stub = spawn_stub(vec![
        limited(json!({"code": 42900, "message": "slow", "retry_after_secs": 30})).header("retry-after", "7"),
        limited(json!({"code": 42900, "message": "slow"})).header("retry-after", "7"),
        Reply::raw(429, "slow down").header("retry-after", " 12 "),
        limited(json!({"code": 42900, "message": "slow"})),
        limited(json!({"code": 42900, "message": "slow", "retry_after_secs": 999_999})),
        limited(json!({"code": 42900, "message": "slow", "retry_after_secs": 0})),
    ])
    .await;
    let p = provider(&stub);
    for secs in [30, 7, 12, 1, 3600, 1] {
        let expected = ProviderError::RateLimited { retry_after: Duration::from_secs(secs) };
        assert_eq!(call(&p, "send_message").await, Err(expected));
    }
}

#[tokio::test]
async fn idempotent_calls_retry_unavailable_max_retries_times() {
    let stub = spawn_stub(vec![Reply::error(ErrorCode::Unavailable, "wework is down")]).await;
    let p = provider(&stub);
    for method in IDEMPOTENT {
        let before = stub.hits();
        let error = call(&p, method).await.expect_err("unavailable");
        assert!(matches!(error, ProviderError::Unavailable { timed_out: false, .. }), "{method}: {error:?}");
        assert_eq!(stub.hits() - before, 1 + config().max_retries as usize, "{method}");
    }
}

#[tokio::test]
async fn a_retry_succeeds_when_the_instance_recovers() {
    let stub = spawn_stub(vec![Reply::raw(503, "restarting"), Reply::ok(json!({"state": "online"}))]).await;
    assert_eq!(provider(&stub).restore("g1").await, Ok(RestoreResponse { state: ClientState::Online }));
    assert_eq!(stub.hits(), 2);
}

#[tokio::test]
async fn create_and_verify_are_never_retried() {
    for method in ["create_client", "submit_verify_code"] {
        let stub = spawn_stub(vec![Reply::raw(503, "down")]).await;
        let error = call(&provider(&stub), method).await.expect_err("unavailable");
        assert_eq!(error.code(), "unavailable");
        assert_eq!(stub.hits(), 1, "{method}");
    }
}

#[tokio::test]
async fn rate_limits_and_permanent_errors_are_not_retried() {
    for reply in [Reply::error(ErrorCode::RateLimited, "slow"), Reply::error(ErrorCode::NotLoggedIn, "offline")] {
        let stub = spawn_stub(vec![reply]).await;
        assert!(call(&provider(&stub), "send_message").await.is_err());
        assert_eq!(stub.hits(), 1);
    }
}

#[tokio::test]
async fn a_slow_instance_times_out_with_an_unknown_outcome() {
    // The stub holds the reply far longer than the timeout; the test never waits for it.
    let stub = spawn_stub(vec![Reply::ok(json!({"guid": "g1"})).after(Duration::from_secs(30))]).await;
    let fast = HttpProviderConfig { request_timeout: Duration::from_millis(100), ..config() };
    let p = HttpProvider::new(&stub.url(), TOKEN, fast).expect("provider");
    let error = call(&p, "create_client").await.expect_err("timeout");
    assert!(matches!(error, ProviderError::Unavailable { timed_out: true, .. }), "{error:?}");
    assert_eq!(error.code(), "timeout");
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_but_not_timed_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let p = HttpProvider::new(&format!("http://{addr}"), TOKEN, config()).expect("provider");
    let error = p.status("g1").await.expect_err("refused");
    assert_eq!(error, ProviderError::Unavailable { message: "connection failed".into(), timed_out: false });
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = spawn_stub(vec![Reply::ok(json!({"guid": "stolen"}))]).await;
    let location = format!("{}/collect", elsewhere.url());
    let stub = spawn_stub(vec![Reply::raw(302, "").header("location", &location)]).await;
    let error = call(&provider(&stub), "create_client").await.expect_err("a redirect is no answer");
    assert_eq!(error.code(), "unavailable");
    assert_eq!(stub.hits(), 1);
    assert_eq!(elsewhere.hits(), 0, "the token must not travel to the redirect target");
}

#[tokio::test]
async fn the_token_stays_out_of_debug_output_and_errors() {
    let stub = spawn_stub(vec![
        Reply::raw(500, "boom"),
        Reply::error(ErrorCode::Unauthorized, "bad token"),
        Reply::ok(json!({"guid": "g1"})).after(Duration::from_secs(30)),
    ])
    .await;
    let fast = HttpProviderConfig { request_timeout: Duration::from_millis(100), max_retries: 0, ..config() };
    let p = HttpProvider::new(&stub.url(), TOKEN, fast).expect("provider");
    assert!(!format!("{p:?}").contains(TOKEN));
    assert!(format!("{p:?}").contains(&stub.url()));
    let refused = HttpProvider::new("http://127.0.0.1:1", TOKEN, config()).expect("provider");
    let mut errors = Vec::new();
    for _ in 0..3 {
        errors.push(call(&p, "create_client").await.expect_err("an error"));
    }
    errors.push(refused.health().await.expect_err("refused"));
    for error in errors {
        assert!(!format!("{error} {error:?}").contains(TOKEN), "{error:?}");
    }
}

#[test]
fn classify_trusts_the_code_then_the_status() {
    let msg = || "m".to_owned();
    assert_eq!(classify(Some(ErrorCode::NotLoggedIn), 200, msg(), None), ProviderError::NotLoggedIn(msg()));
    assert_eq!(classify(Some(ErrorCode::Unauthorized), 503, msg(), None), ProviderError::Unauthorized);
    assert_eq!(classify(None, 404, msg(), None), ProviderError::UnknownClient(msg()));
    let teapot = ProviderError::Unavailable { message: msg(), timed_out: false };
    assert_eq!(classify(None, 418, msg(), None), teapot);
    let limited = |secs| ProviderError::RateLimited { retry_after: Duration::from_secs(secs) };
    assert_eq!(classify(None, 429, msg(), None), limited(1));
    assert_eq!(classify(Some(ErrorCode::RateLimited), 200, msg(), Some(0)), limited(1));
    assert_eq!(classify(Some(ErrorCode::RateLimited), 429, msg(), Some(45)), limited(45));
    assert_eq!(classify(Some(ErrorCode::RateLimited), 429, msg(), Some(u64::MAX)), limited(3600));
}

#[test]
fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
    let config = HttpProviderConfig {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        ..HttpProviderConfig::default()
    };
    let p = HttpProvider::new("http://127.0.0.1:1", TOKEN, config).expect("provider");
    let ms = |d: Duration| d.as_millis();
    for _ in 0..200 {
        assert!((50..=150).contains(&ms(p.backoff(0))), "attempt 0");
        assert!((100..=300).contains(&ms(p.backoff(1))), "attempt 1");
        assert!((400..=1000).contains(&ms(p.backoff(3))), "attempt 3");
        for attempt in [4, 16, 17, 31, 32, 1000, u32::MAX] {
            assert!((500..=1000).contains(&ms(p.backoff(attempt))), "attempt {attempt}");
        }
    }
}
