//! Receipts and inbound messages, reported by the callback service: statuses
//! only move forward, a late receipt changes nothing, inbound messages are
//! stored once and whole, and only service principals may report.

use tonic::Code;
use wework_proto::message::{self as pb, ChatType, Direction, MessageStatus};

use crate::helpers::{assert_code, authed, spawn_app, text, violated_fields};
use crate::messages_support::text_of;

#[tokio::test]
async fn receipts_move_a_message_forward_only() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let m = app.send_ok(&t, &account, "wm-1", "hi").await;
    app.mark(&m.id, "sending", None).await;
    app.advance_secs(2);

    let sent = app.receipt_for(&m.id, MessageStatus::Sent).await.expect("sent receipt");
    assert!(sent.applied);
    let row = sent.message.expect("message");
    assert_eq!(row.status, MessageStatus::Sent as i32);
    assert_eq!(row.send_time.as_ref().map(|t| t.seconds), Some(app.now().timestamp()));
    assert!(row.callback_time.is_some());
    let stored = app.stored(&m.id).await;
    assert_eq!((stored.claim_id, stored.next_attempt_at), (None, None));

    let delivered = app.receipt_for(&m.id, MessageStatus::Delivered).await.expect("delivered receipt");
    assert!(delivered.applied);
    assert_eq!(delivered.message.expect("message").status, MessageStatus::Delivered as i32);

    // A late `sent` (and a repeated `delivered`) change nothing.
    for late in [MessageStatus::Sent, MessageStatus::Delivered, MessageStatus::Failed] {
        let answer = app.receipt_for(&m.id, late).await.expect("late receipt");
        assert!(!answer.applied, "{late:?}");
        assert_eq!(answer.message.expect("message").status, MessageStatus::Delivered as i32);
    }
    assert_eq!(app.get(&t, &m.id).await.expect("get").status, MessageStatus::Delivered as i32);
}

#[tokio::test]
async fn receipts_find_messages_by_the_instance_id() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let m = app.send_ok(&t, &account, "wm-1", "hi").await;
    app.mark(&m.id, "sent", Some("ww-77")).await;

    let failed = pb::UpdateDeliveryStatusRequest {
        wework_msg_id: "ww-77".into(),
        status: MessageStatus::Failed as i32,
        error_code: "account_restricted".into(),
        error_message: "the account may not send".into(),
        ..Default::default()
    };
    let answer = app.receipt(failed).await.expect("receipt by wework id");
    assert!(answer.applied);
    let row = answer.message.expect("message");
    assert_eq!((row.id.as_str(), row.status), (m.id.as_str(), MessageStatus::Failed as i32));
    assert_eq!((row.error_code.as_str(), row.wework_msg_id.as_str()), ("account_restricted", "ww-77"));

    let unknown = pb::UpdateDeliveryStatusRequest {
        wework_msg_id: "ww-unknown".into(),
        status: MessageStatus::Delivered as i32,
        ..Default::default()
    };
    assert_code(app.receipt(unknown).await, Code::NotFound);
    assert_code(app.receipt_for("0190aaaa-0000-7000-8000-000000000000", MessageStatus::Sent).await, Code::NotFound);
    let both = pb::UpdateDeliveryStatusRequest {
        message_id: m.id.clone(),
        wework_msg_id: "ww-77".into(),
        status: MessageStatus::Delivered as i32,
        ..Default::default()
    };
    let status = assert_code(app.receipt(both).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["message_id"]);
    let pending = pb::UpdateDeliveryStatusRequest { status: MessageStatus::Pending as i32, ..Default::default() };
    let status = assert_code(app.receipt(pending).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["message_id", "status"]);
}

fn inbound(account: &str, wework_msg_id: &str, body: &str) -> pb::RecordInboundRequest {
    pb::RecordInboundRequest {
        account_id: account.into(),
        wework_msg_id: wework_msg_id.into(),
        conversation_id: "wm-customer".into(),
        chat_type: ChatType::Private as i32,
        sender_id: "wm-customer".into(),
        sender_name: "Customer".into(),
        content: text(body),
        ..Default::default()
    }
}

#[tokio::test]
async fn inbound_messages_are_recorded_once_and_whole() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let long = "长".repeat(6_000);
    let req = inbound(&account, "ww-in-1", &long);
    let first = app.messages().record_inbound(app.as_service(req.clone())).await.expect("inbound").into_inner();
    assert_eq!((first.direction, first.status), (Direction::In as i32, MessageStatus::Delivered as i32));
    assert_eq!(first.tenant_id, t.id);
    assert_eq!(text_of(&first).chars().count(), 6_000, "kept whole, past the send limit");
    assert_eq!((first.sender_id.as_str(), first.sender_name.as_str()), ("wm-customer", "Customer"));
    let again = app.messages().record_inbound(app.as_service(req)).await.expect("repeat").into_inner();
    assert_eq!(again.id, first.id);

    let incoming = pb::ListMessagesRequest { direction: Direction::In as i32, ..Default::default() };
    let listed = app.list(&t, incoming).await.expect("list");
    assert_eq!(listed.messages.len(), 1);
    let no_content = pb::RecordInboundRequest { content: None, ..inbound(&account, "ww-in-2", "") };
    let status = assert_code(app.messages().record_inbound(app.as_service(no_content)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["content"]);
    let long_sender = pb::RecordInboundRequest { sender_name: "x".repeat(201), ..inbound(&account, "ww-in-2", "hi") };
    let status = assert_code(app.messages().record_inbound(app.as_service(long_sender)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["sender_name"]);
    let unknown = inbound("no-such-account", "ww-in-3", "hi");
    assert_code(app.messages().record_inbound(app.as_service(unknown)).await, Code::NotFound);
}

#[tokio::test]
async fn only_services_report_receipts_and_inbound_messages() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let m = app.send_ok(&t, &account, "wm-1", "hi").await;
    let receipt = pb::UpdateDeliveryStatusRequest {
        message_id: m.id.clone(),
        status: MessageStatus::Delivered as i32,
        ..Default::default()
    };
    assert_code(app.messages().update_delivery_status(authed(&t.token, receipt)).await, Code::PermissionDenied);
    assert_code(
        app.messages()
            .update_delivery_status(authed(
                &app.admin,
                pb::UpdateDeliveryStatusRequest {
                    message_id: m.id.clone(),
                    status: MessageStatus::Delivered as i32,
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    let req = inbound(&account, "ww-in-1", "hi");
    assert_code(app.messages().record_inbound(authed(&t.token, req)).await, Code::PermissionDenied);
    assert_eq!(app.stored(&m.id).await.status, "pending");
    let no_token = app.messages().get_message(pb::GetMessageRequest { id: m.id }).await;
    assert_code(no_token, Code::Unauthenticated);
}
