//! Status changes reach the tenant: each transition is published as
//! `account.status_changed` through the task center to the tenant's webhook,
//! signed; with the task center down they wait in the outbox (the history)
//! and the watchdog's relay sends them once it is back, each exactly once.

use std::collections::HashSet;
use std::time::Duration;

use wework_kit::testing::eventually;

use crate::helpers::spawn_app_with;
use wework_testkit::{Receiver, Switch, TaskCenter, TaskCenterData, signature_valid};

const DEADLINE: Duration = Duration::from_secs(30);

fn statuses(receiver: &Receiver) -> Vec<String> {
    receiver
        .deliveries()
        .iter()
        .map(|d| d.json())
        .filter(|b| b["type"] == "account.status_changed")
        .map(|b| b["data"]["new_status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn every_status_change_reaches_the_tenant_webhook_signed() {
    let switch = Switch::start().await;
    let app = spawn_app_with(|s| s.integrations.task_service_url = switch.url()).await;
    let data = TaskCenterData::new().await;
    let tasks = TaskCenter::spawn(&data, &app.secret, &app.users.grpc_url).await;
    switch.route_to(Some(tasks.addr));
    let receiver = Receiver::start().await;
    let tenant = app.tenant("events-a", 5).await;
    let whsec = tasks.set_webhook(&tenant.token, &receiver.url).await;

    let (account, _) = app.online_account(&tenant, "sales-1").await;

    let want = ["logging_in", "waiting_scan", "waiting_confirm", "online"];
    eventually(DEADLINE, || async {
        let got = statuses(&receiver);
        want.iter().all(|w| got.iter().any(|g| g == w)).then_some(())
    })
    .await;
    for d in receiver.deliveries() {
        assert!(signature_valid(&d, &whsec), "bad signature on {}", d.id);
        let body = d.json();
        assert_eq!(body["tenant_id"], tenant.id.as_str());
        assert_eq!(body["subject"], account.id.as_str());
        assert_eq!(body["source"], "account-service");
    }
    // The event id is the history row's: one delivery per transition.
    let history: HashSet<String> = app.history(&tenant, &account.id).await.into_iter().map(|c| c.id).collect();
    let delivered: HashSet<String> = receiver.deliveries().into_iter().map(|d| d.json()["id"].to_string()).collect();
    assert_eq!(delivered.len(), receiver.deliveries().len(), "a transition was delivered twice");
    for id in &history {
        assert!(delivered.contains(&format!("\"{id}\"")), "history row {id} was not delivered");
    }
}

#[tokio::test]
async fn with_the_task_center_down_events_wait_in_the_outbox_then_go_once() {
    let switch = Switch::start().await;
    let app = spawn_app_with(|s| {
        s.integrations.task_service_url = switch.url();
        // Short of the 60 s heartbeat timeout even twice over: only the
        // login's own changes are in play.
        s.watchdog.outbox_retry_secs = 20;
    })
    .await;
    let tenant = app.tenant("events-b", 5).await;
    // The tenant's webhook exists; then the task center goes down.
    let data = TaskCenterData::new().await;
    let tasks = TaskCenter::spawn(&data, &app.secret, &app.users.grpc_url).await;
    let receiver = Receiver::start().await;
    let whsec = tasks.set_webhook(&tenant.token, &receiver.url).await;
    tasks.stop().await;
    switch.route_to(None);

    let (account, _) = app.online_account(&tenant, "sales-2").await;
    let changes = app.history(&tenant, &account.id).await.len();
    assert_eq!(changes, 4);
    // Nothing listens: the relay finds the events but cannot send them.
    app.advance_secs(21);
    assert_eq!(app.tick().await.events_relayed, 0);
    assert!(receiver.deliveries().is_empty());

    let back = TaskCenter::spawn(&data, &app.secret, &app.users.grpc_url).await;
    switch.route_to(Some(back.addr));
    // (A publish still retrying from the transition itself may win the race
    // for one of them; the task center de-duplicates on the event id.)
    let relayed = app.tick().await.events_relayed;
    assert!(relayed > 0 && relayed <= changes, "relayed {relayed} of {changes}");
    eventually(DEADLINE, || async { (statuses(&receiver).len() >= changes).then_some(()) }).await;
    assert!(receiver.deliveries().iter().all(|d| signature_valid(d, &whsec)));
    // Acknowledged now: the next relay sends nothing.
    app.advance_secs(21);
    assert_eq!(app.tick().await.events_relayed, 0);
    assert_eq!(statuses(&receiver).len(), changes);
}
