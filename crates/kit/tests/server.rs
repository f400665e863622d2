//! End-to-end checks of the server bootstrap: a trivial EchoService served
//! through `wework_kit::server::serve` on ephemeral ports, exercised over real
//! sockets. Handlers block on explicit gates (never on sleeps), so every
//! state the tests look at is reached deterministically.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use wework_kit::server::{Listeners, serve};
use wework_kit::settings::ServerSettings;
use wework_kit::shutdown::Shutdown;
use wework_proto::bench::echo_service_client::EchoServiceClient;
use wework_proto::bench::echo_service_server::{EchoService, EchoServiceServer};
use wework_proto::bench::{EchoRequest, EchoResponse};

const ECHO: &str = "wework.bench.v1.EchoService";

/// `"block"` waits for a permit of `gate` (after announcing itself on
/// `entered`), `"hang"` never answers, anything else is echoed back with the
/// request id the server assigned.
struct Echo {
    gate: Arc<Semaphore>,
    entered: Arc<Semaphore>,
}

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, req: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let id = wework_kit::telemetry::request_id(&req).unwrap_or_default();
        let task_local = wework_kit::telemetry::current_request_id().unwrap_or_default();
        assert_eq!(id, task_local, "extension and task-local agree");
        let message = req.into_inner().message;
        match message.as_str() {
            "block" => {
                self.entered.add_permits(1);
                self.gate.acquire().await.map_err(|_| Status::internal("gate closed"))?.forget();
            }
            "hang" => std::future::pending::<()>().await,
            _ => {}
        }
        Ok(Response::new(EchoResponse { message: format!("{message}|{id}") }))
    }
}

struct TestServer {
    grpc: SocketAddr,
    http: SocketAddr,
    shutdown: Shutdown,
    gate: Arc<Semaphore>,
    entered: Arc<Semaphore>,
    done: tokio::task::JoinHandle<Result<(), wework_kit::server::ServerError>>,
}

impl TestServer {
    async fn start(tweak: impl FnOnce(&mut ServerSettings)) -> Self {
        wework_kit::telemetry::init_for_tests();
        let mut settings = ServerSettings { shutdown_grace_ms: 5_000, ..ServerSettings::on_ports(0, 0) };
        tweak(&mut settings);
        let listeners = Listeners::bind(&settings).await.unwrap();
        let (grpc, http) = (listeners.grpc_addr(), listeners.http_addr());
        let gate = Arc::new(Semaphore::new(0));
        let entered = Arc::new(Semaphore::new(0));
        let routes =
            tonic::service::Routes::new(EchoServiceServer::new(Echo { gate: gate.clone(), entered: entered.clone() }));
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let done = tokio::spawn(async move { serve("echo", listeners, &settings, routes, &[ECHO], s).await });
        Self { grpc, http, shutdown, gate, entered, done }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc)).unwrap().connect().await.unwrap()
    }

    async fn echo(&self) -> EchoServiceClient<Channel> {
        EchoServiceClient::new(self.channel().await)
    }

    /// Waits until `n` "block" calls are inside the handler.
    async fn wait_entered(&self, n: u32) {
        self.entered.acquire_many(n).await.unwrap().forget();
    }
}

/// A minimal HTTP/1.0 GET over a raw socket: (status, body).
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

async fn next_status(stream: &mut tonic::Streaming<HealthCheckResponse>) -> i32 {
    stream.message().await.unwrap().expect("health update").status
}

#[tokio::test]
async fn serves_echo_with_request_ids_metrics_and_reflection() {
    let server = TestServer::start(|_| {}).await;
    let mut client = server.echo().await;

    let mut req = Request::new(EchoRequest { message: "hi".into() });
    req.metadata_mut().insert("x-request-id", "it-req-1".parse().unwrap());
    let res = client.echo(req).await.unwrap();
    assert_eq!(res.metadata().get("x-request-id").unwrap(), "it-req-1");
    assert_eq!(res.get_ref().message, "hi|it-req-1");

    // Without a caller id the server mints one and still echoes it.
    let res = client.echo(EchoRequest { message: "x".into() }).await.unwrap();
    let minted = res.metadata().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert_eq!(res.get_ref().message, format!("x|{minted}"));

    let (status, metrics) = http_get(server.http, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("grpc_server_requests_total"), "{metrics}");
    assert!(metrics.contains(r#"method="/wework.bench.v1.EchoService/Echo""#), "{metrics}");
    assert!(metrics.contains("grpc_server_request_duration_seconds_bucket"), "{metrics}");

    let mut health = HealthClient::new(server.channel().await);
    for service in ["", ECHO] {
        let res = health.check(HealthCheckRequest { service: service.into() }).await.unwrap();
        assert_eq!(res.get_ref().status, ServingStatus::Serving as i32, "{service:?}");
    }

    let services = list_services(server.channel().await).await;
    assert!(services.iter().any(|s| s == ECHO), "{services:?}");
    assert!(services.iter().any(|s| s == "grpc.health.v1.Health"), "{services:?}");

    server.shutdown.trigger();
    server.done.await.unwrap().unwrap();
}

async fn list_services(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let res: ServerReflectionResponse = stream.message().await.unwrap().unwrap();
    match res.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("unexpected reflection answer: {other:?}"),
    }
}

#[tokio::test]
async fn graceful_shutdown_flips_health_first_and_drains_in_flight_rpcs() {
    let server = TestServer::start(|_| {}).await;
    let mut client = server.echo().await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watch = health.watch(HealthCheckRequest { service: ECHO.into() }).await.unwrap().into_inner();
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving as i32);
    assert_eq!(http_get(server.http, "/healthz").await, (200, "ok".to_owned()));

    let in_flight = tokio::spawn(async move { client.echo(EchoRequest { message: "block".into() }).await });
    server.wait_entered(1).await;

    server.shutdown.trigger();
    assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing as i32);
    drop(watch); // a watcher left open would hold the drain until the grace period
    // The operations port stays up during the drain and reports it.
    assert_eq!(http_get(server.http, "/healthz").await.0, 503);
    assert_eq!(http_get(server.http, "/readyz").await.0, 503);
    assert!(!server.done.is_finished(), "must wait for the in-flight RPC");

    server.gate.add_permits(1);
    let res = in_flight.await.unwrap().expect("in-flight RPC completes during the drain");
    assert!(res.get_ref().message.starts_with("block|"));
    server.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn overload_is_shed_with_unavailable_but_health_still_answers() {
    let server = TestServer::start(|s| s.concurrency_limit = 1).await;
    let mut blocked_client = server.echo().await;
    let blocked = tokio::spawn(async move { blocked_client.echo(EchoRequest { message: "block".into() }).await });
    server.wait_entered(1).await;

    let err = server.echo().await.echo(EchoRequest { message: "more".into() }).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("overloaded"), "{err:?}");

    let mut health = HealthClient::new(server.channel().await);
    let res = health.check(HealthCheckRequest { service: String::new() }).await.unwrap();
    assert_eq!(res.get_ref().status, ServingStatus::Serving as i32);

    server.gate.add_permits(1);
    blocked.await.unwrap().unwrap();
    // Capacity is back once the first RPC finished.
    server.echo().await.echo(EchoRequest { message: "again".into() }).await.unwrap();
    let (_, metrics) = http_get(server.http, "/metrics").await;
    assert!(metrics.contains(r#"code="UNAVAILABLE""#), "{metrics}");

    server.shutdown.trigger();
    server.done.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_handler_past_the_request_timeout_is_cut_off() {
    let server = TestServer::start(|s| s.request_timeout_ms = 200).await;
    let started = std::time::Instant::now();
    let err = server.echo().await.echo(EchoRequest { message: "hang".into() }).await.unwrap_err();
    assert!(matches!(err.code(), Code::Cancelled | Code::DeadlineExceeded), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered by the server deadline, not a hang");

    server.shutdown.trigger();
    server.done.await.unwrap().unwrap();
}
