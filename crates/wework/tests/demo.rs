//! The demo scenario as assertions: `wework demo`'s own tour, run against
//! the whole platform started in this process (the gateway suite's
//! harness), must see every step happen — the login through the verify
//! code, a text and a template message delivered, a 1,000-receiver batch
//! sent and receipted, statistics, and every webhook signed.

#[allow(dead_code)]
#[path = "../../gateway/tests/it/platform.rs"]
mod platform;

use wework::demo::{DemoArgs, tour};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tour_succeeds_end_to_end() {
    let p = platform::Platform::start().await;
    let admin = p.admin().await;
    p.register_sim(&admin).await;
    let args = DemoArgs {
        gateway: p.gateway.clone(),
        sim: p.sim.base_url(),
        admin_password: Some(platform::ADMIN_PASSWORD.to_owned()),
        batch_size: 1000,
        step_timeout_secs: 120,
    };
    let report = tour(args).await.expect("the tour succeeds");
    assert!(report.text_delivered);
    assert_eq!(report.template_text, "Hi Ada, order #42 shipped.");
    assert_eq!((report.batch_success, report.batch_delivered), (1000, 1000));
    let (total, sent, delivered, failed) =
        report.statistics.iter().fold((0, 0, 0, 0), |a, r| (a.0 + r.0, a.1 + r.1, a.2 + r.2, a.3 + r.3));
    assert_eq!((total, sent, delivered, failed), (1002, 1002, 1002, 0));
    assert!(report.webhooks >= 2 * 1002, "{}", report.webhooks);
    assert_eq!(report.valid_signatures, report.webhooks);
    for kind in ["account.status_changed", "message.sent", "message.delivered", "callback.login_success"] {
        assert!(report.webhook_types.iter().any(|t| t == kind), "{kind} in {:?}", report.webhook_types);
    }
}
