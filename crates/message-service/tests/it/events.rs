//! Status changes reach the tenant: `message.sent`, `message.delivered`,
//! `message.failed` and `message.received` are published through the task
//! center to the tenant's webhook, signed, one delivery each.

use std::time::Duration;

use wework_kit::testing::eventually;
use wework_proto::message::{self as pb, ChatType, MessageStatus};

use crate::dispatch_support::tick;
use crate::helpers::{spawn_app_with, text};
use wework_testkit::{Receiver, Switch, TaskCenter, TaskCenterData, signature_valid};

const DEADLINE: Duration = Duration::from_secs(30);

/// `(type, subject)` of every delivery, in arrival order.
fn events(receiver: &Receiver) -> Vec<(String, String)> {
    let kind = |b: &serde_json::Value, k: &str| b[k].as_str().unwrap_or_default().to_owned();
    receiver.deliveries().iter().map(|d| d.json()).map(|b| (kind(&b, "type"), kind(&b, "subject"))).collect()
}

#[tokio::test]
async fn every_message_status_change_reaches_the_tenant_webhook_signed_once() {
    let switch = Switch::start().await;
    let app = spawn_app_with(|s| s.integrations.task_service_url = switch.url()).await;
    let data = TaskCenterData::new().await;
    let tasks = TaskCenter::spawn(&data, &app.secret, &app.users.grpc_url).await;
    switch.route_to(Some(tasks.addr));
    let receiver = Receiver::start().await;
    let t = app.tenant("events", 100).await;
    let whsec = tasks.set_webhook(&t.token, &receiver.url).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;

    let shipped = app.send_ok(&t, &account_id, "wm-a", "Your order shipped").await.id;
    assert_eq!(tick(&app.state).await.sent, 1);
    // The instance reports sent, then delivered.
    let receipts = eventually(DEADLINE, || async {
        let answers = app.forward_receipts(&guid).await;
        answers
            .iter()
            .any(|a| {
                a.as_ref()
                    .is_ok_and(|a| a.message.as_ref().is_some_and(|m| m.status == MessageStatus::Delivered as i32))
            })
            .then_some(answers)
    })
    .await;
    assert!(receipts.iter().all(Result::is_ok));

    // A message the instance reports failed before it was ever sent.
    let refused = app.send_ok(&t, &account_id, "wm-b", "Your order shipped").await.id;
    let failed = pb::UpdateDeliveryStatusRequest {
        message_id: refused.clone(),
        status: MessageStatus::Failed as i32,
        error_code: "40001".into(),
        error_message: "receiver blocked the account".into(),
        ..Default::default()
    };
    app.messages().update_delivery_status(app.as_service(failed)).await.expect("failed receipt");

    // An inbound message.
    let inbound = pb::RecordInboundRequest {
        account_id: account_id.clone(),
        wework_msg_id: "ww-in-1".into(),
        conversation_id: "wm-a".into(),
        chat_type: ChatType::Private as i32,
        content: text("Thanks!"),
        ..Default::default()
    };
    let received = app.messages().record_inbound(app.as_service(inbound)).await.expect("inbound").into_inner().id;

    let want = [
        ("message.sent", shipped.clone()),
        ("message.delivered", shipped.clone()),
        ("message.failed", refused.clone()),
        ("message.received", received.clone()),
    ];
    eventually(DEADLINE, || async {
        let got = events(&receiver);
        want.iter().all(|(k, s)| got.iter().any(|(gk, gs)| gk == k && gs == s)).then_some(())
    })
    .await;
    let got = events(&receiver);
    assert_eq!(got.len(), want.len(), "one delivery per change: {got:?}");
    for d in receiver.deliveries() {
        assert!(signature_valid(&d, &whsec), "bad signature on {}", d.id);
        let body = d.json();
        assert_eq!(body["tenant_id"], t.id.as_str());
        assert_eq!(body["source"], "message-service");
        assert_eq!(body["data"]["account_id"], account_id.as_str());
    }
}
