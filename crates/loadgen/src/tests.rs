//! End-to-end checks against the in-process echo server on an ephemeral port.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::*;

struct EchoServer {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl EchoServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(echo::serve(listener, async {
            let _ = stopped.await;
        }));
        Self { url, stop: Some(stop), task }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("server task").expect("server ran cleanly");
    }

    fn target(&self, json: &str) -> Target {
        Target {
            url: self.url.clone(),
            method: ECHO_METHOD.into(),
            json: json.into(),
            headers: vec!["x-test=1".into()],
        }
    }
}

#[tokio::test]
async fn one_call_round_trips_through_the_raw_codec() {
    let server = EchoServer::start().await;
    let answer = call_once(&server.target(r#"{"message":"ping"}"#)).await.expect("call");
    assert_eq!(answer, serde_json::json!({"message": "ping"}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_load_succeeds_without_errors() {
    let server = EchoServer::start().await;
    let plan =
        Plan { concurrency: 8, warmup: Duration::from_millis(100), duration: Duration::from_secs(1), rate: None };
    let report = run_load(&server.target(r#"{"message":"x"}"#), 2, plan, Some(std::process::id())).await.expect("run");
    assert!(report.ok > 0, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.total, report.ok);
    assert!(report.ok_rps > 0.0 && report.latency_ms.p50 <= report.latency_ms.max);
    assert!(report.memory.is_some_and(|m| m.rss_kib > 0) || !cfg!(target_os = "linux"));
    let json = serde_json::to_value(&report).expect("report serialises");
    assert_eq!(json["connections"], 2);
    server.stop().await;
}

#[tokio::test]
async fn an_open_loop_run_sends_exactly_its_schedule() {
    let server = EchoServer::start().await;
    let plan = Plan { concurrency: 4, warmup: Duration::ZERO, duration: Duration::from_millis(500), rate: Some(100.0) };
    let report = run_load(&server.target("{}"), 1, plan, None).await.expect("run");
    // 100 req/s for 0.5 s is exactly 50 scheduled sends; a late send is still sent (and its delay
    // counted as latency), so the count does not depend on how busy the machine is.
    assert_eq!(report.ok, 50, "{report:?}");
    server.stop().await;
}

#[tokio::test]
async fn errors_are_counted_by_code() {
    let server = EchoServer::start().await;
    // A method the echo server does not serve: every call is Unimplemented.
    let target = Target { method: "wework.user.v1.AuthService/WhoAmI".into(), ..server.target("{}") };
    let plan = Plan { concurrency: 2, warmup: Duration::ZERO, duration: Duration::from_millis(200), rate: None };
    let report = run_load(&target, 1, plan, None).await.expect("run");
    assert_eq!(report.ok, 0);
    assert!(report.errors.get("Unimplemented").is_some_and(|e| e.count == report.total && report.total > 0));
    server.stop().await;
}

#[tokio::test]
async fn remote_targets_are_refused_before_connecting() {
    let target =
        Target { url: "http://10.1.2.3:50051".into(), method: ECHO_METHOD.into(), json: "{}".into(), headers: vec![] };
    let err = call_once(&target).await.expect_err("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("ten").is_err());
    assert!(parse_duration("5h").is_err());
}
