//! Outbound policy at the service level: SSRF refusals on the address
//! actually connected to, the subnet allowlist, and rate limits.

use wework_proto::task::TaskStatus;

use crate::helpers::*;
use crate::sink::Sink;

#[tokio::test]
async fn private_and_loopback_destinations_are_refused() {
    let app = spawn_app_with(|s| s.delivery.allow_loopback = false).await;
    let sink = Sink::start().await;
    let port = sink.addr.expect("addr").port();
    let creds = app.register_business("ssrf", 0).await;
    let targets = [
        format!("http://127.0.0.1:{port}/ok"),
        "http://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
        format!("http://localhost:{port}/ok"),
    ];
    for (i, url) in targets.iter().enumerate() {
        let task = app.create(&creds, app.http_spec(&format!("s-{i}"), url, "{}")).await;
        let failed = app.wait_status(&task.id, TaskStatus::Failed).await;
        assert_eq!(failed.attempts, 1, "{url}: refused at once, not retried");
        assert!(failed.last_error.starts_with("refused"), "{url}: {}", failed.last_error);
    }
    assert!(sink.received().is_empty(), "nothing reached the sink");
}

#[tokio::test]
async fn an_allowlisted_subnet_is_reachable() {
    let app = spawn_app_with(|s| {
        s.delivery.allow_loopback = false;
        s.delivery.allow_subnets = vec!["127.0.0.0/8".to_owned()];
    })
    .await;
    let sink = Sink::start().await;
    let creds = app.register_business("allow", 0).await;
    let task = app.create(&creds, app.http_spec("a-1", &sink.url("/ok"), "{}")).await;
    app.wait_status(&task.id, TaskStatus::Succeeded).await;
    assert_eq!(sink.count("/ok"), 1);
}

#[tokio::test]
async fn a_business_rate_limit_defers_instead_of_failing() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("slowpoke", 1).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.create(&creds, app.http_spec(&format!("rl-{i}"), &sink.url("/ok"), "{}")).await.id);
    }
    // With the clock frozen only the burst (1) goes out; the rest wait for time to pass.
    eventually(DEADLINE, || async { (sink.count("/ok") >= 1).then_some(()) }).await;
    let deferred = eventually(DEADLINE, || async {
        let mut waiting = 0;
        for id in &ids {
            let t = app.get(id).await;
            if t.status == TaskStatus::Pending as i32 && t.attempts == 0 {
                waiting += 1;
            }
        }
        (waiting == 2).then_some(waiting)
    })
    .await;
    assert_eq!(deferred, 2, "deferred without counting an attempt");
    assert_eq!(sink.count("/ok"), 1);
    // Each second of (test) time lets one more through.
    for sent in 2..=3 {
        app.advance(chrono::Duration::seconds(1));
        eventually(DEADLINE, || async { (sink.count("/ok") >= sent).then_some(()) }).await;
    }
    for id in &ids {
        let t = app.wait_status(id, TaskStatus::Succeeded).await;
        assert_eq!(t.attempts, 1);
    }
    assert_eq!(sink.count("/ok"), 3);
}
