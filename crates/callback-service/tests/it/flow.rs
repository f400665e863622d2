//! The whole flow with the simulator as the instance: its signed callbacks
//! arrive at the ingest URL, are stored, processed and routed. QR login
//! events bring an account online; an inbound message reaches the message
//! service, the account's conversation and the tenant's webhook (signed,
//! Standard Webhooks); receipts mark a sent message delivered; callbacks
//! delivered twice are processed once.

use wework_client::protocol::MessageContent;
use wework_proto::account::{AccountStatus, ListConversationsRequest};
use wework_proto::message::{self as mpb, Direction, ListMessagesRequest, MessageStatus};
use wework_sim::{Faults, Inbound};

use crate::helpers::{TestApp, authed, spawn_app};
use wework_testkit::Tenant;
use wework_testkit::{Receiver, signature_valid};

fn inbound(chat: &str, text: &str) -> Inbound {
    Inbound {
        chat_id: chat.into(),
        sender_id: "customer-1".into(),
        sender_name: "Customer".into(),
        content: Some(MessageContent::Text { text: text.into() }),
        ..Default::default()
    }
}

async fn inbound_messages(app: &TestApp, t: &Tenant, account_id: &str) -> Vec<mpb::Message> {
    let req =
        ListMessagesRequest { account_id: account_id.into(), direction: Direction::In as i32, ..Default::default() };
    app.messages.client().list_messages(authed(&t.token, req)).await.expect("list messages").into_inner().messages
}

async fn unread(app: &TestApp, t: &Tenant, account_id: &str, chat: &str) -> Option<u32> {
    let req = ListConversationsRequest { account_id: account_id.into(), ..Default::default() };
    let list = app.accounts.conversations().list_conversations(authed(&t.token, req)).await.expect("conversations");
    list.into_inner().conversations.into_iter().find(|c| c.conversation_id == chat).map(|c| c.unread_count)
}

#[tokio::test]
async fn qr_login_callbacks_bring_the_account_online_and_the_tenant_hears_of_it() {
    let app = spawn_app().await;
    let t = app.tenant("login").await;
    let receiver = Receiver::start().await;
    let whsec = app.tasks.set_webhook(&t.token, &receiver.url).await;
    let (account_id, guid) = app.accounts.start_login(&t, "sales-1").await;
    app.sim.scan(&guid).await.expect("scan");
    app.process_until(|| async {
        (app.accounts.status(&t, &account_id).await == AccountStatus::WaitingConfirm).then_some(())
    })
    .await;
    app.sim.confirm(&guid).await.expect("confirm");
    app.process_until(|| async { (app.accounts.status(&t, &account_id).await == AccountStatus::Online).then_some(()) })
        .await;
    let stored = app.stored().await;
    let types: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    for want in ["qr_code_scanned", "login_success"] {
        assert!(types.contains(&want), "{want} stored: {types:?}");
    }
    assert!(stored.iter().filter(|e| e.guid == guid).all(|e| e.tenant_id.as_deref() == Some(t.id.as_str())));
    let got = crate::helpers::wait_for_delivery(&receiver, "callback.login_success").await;
    assert!(signature_valid(&got, &whsec), "Standard Webhooks signature verifies");
    let body = got.json();
    assert_eq!(body["tenant_id"], t.id.as_str());
    assert_eq!(body["data"]["account_id"], account_id.as_str());
    assert_eq!(body["data"]["guid"], guid.as_str());
}

#[tokio::test]
async fn an_inbound_message_reaches_the_messages_the_conversation_and_the_webhook() {
    let app = spawn_app().await;
    let t = app.tenant("inbound").await;
    let receiver = Receiver::start().await;
    let whsec = app.tasks.set_webhook(&t.token, &receiver.url).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    let sent = app.sim.inbound(&guid, inbound("chat-1", "Is my order on its way?")).await.expect("inbound");

    let messages = app
        .process_until(|| async {
            let got = inbound_messages(&app, &t, &account_id).await;
            (!got.is_empty()).then_some(got)
        })
        .await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].wework_msg_id, sent.msg_id);
    assert_eq!(messages[0].conversation_id, "chat-1");
    assert_eq!(unread(&app, &t, &account_id, "chat-1").await, Some(1));

    let got = crate::helpers::wait_for_delivery(&receiver, "callback.new_message").await;
    assert!(signature_valid(&got, &whsec));
    let body = got.json();
    assert_eq!(body["data"]["data"]["msg_id"], sent.msg_id.as_str());
    assert_eq!(body["data"]["data"]["text"], "Is my order on its way?");
    assert_eq!(body["data"]["result"]["message_id"], messages[0].id.as_str());
}

#[tokio::test]
async fn receipts_mark_a_sent_message_delivered() {
    let app = spawn_app().await;
    let t = app.tenant("receipts").await;
    let (account_id, _guid) = app.online_account(&t, "sales-1").await;
    let req = mpb::SendMessageRequest {
        account_id: account_id.clone(),
        conversation_id: "customer-9".into(),
        chat_type: mpb::ChatType::Private as i32,
        content: Some(mpb::Content {
            kind: Some(mpb::content::Kind::Text(mpb::content::Text { text: "Shipped today".into() })),
        }),
        ..Default::default()
    };
    let id = app.messages.client().send_message(authed(&t.token, req)).await.expect("send").into_inner();
    let id = id.message.expect("message").id;
    app.process_until(|| async {
        let req = mpb::GetMessageRequest { id: id.clone() };
        let m = app.messages.client().get_message(authed(&t.token, req)).await.expect("get").into_inner();
        (m.status == MessageStatus::Delivered as i32).then_some(())
    })
    .await;
    let receipts: Vec<_> = app.stored().await.into_iter().filter(|e| e.event_type == "send_result").collect();
    assert_eq!(receipts.len(), 2, "sent and delivered, one row each");
    assert!(receipts.iter().all(|e| e.status == "processed"), "{receipts:?}");
}

#[tokio::test]
async fn callbacks_delivered_twice_are_processed_once() {
    let app = spawn_app().await;
    let t = app.tenant("twice").await;
    let receiver = Receiver::start().await;
    app.tasks.set_webhook(&t.token, &receiver.url).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    app.sim.set_faults(Faults { duplicate_callback_rate: 1.0, ..Faults::default() });
    for i in 0..3 {
        app.sim.inbound(&guid, inbound("chat-2", &format!("message {i}"))).await.expect("inbound");
    }
    app.process_until(|| async { (inbound_messages(&app, &t, &account_id).await.len() == 3).then_some(()) }).await;
    // Every copy has been answered (the simulator counts each delivery).
    crate::helpers::eventually_true(|| async { app.sim.stats().callbacks_duplicated >= 3 }).await;
    app.process_until(|| async { Some(()) }).await;
    let rows: Vec<_> = app.stored().await.into_iter().filter(|e| e.event_type == "new_message").collect();
    assert_eq!(rows.len(), 3, "one row per message however often it came");
    assert_eq!(unread(&app, &t, &account_id, "chat-2").await, Some(3));
    crate::helpers::eventually_true(|| async {
        receiver.deliveries().iter().filter(|d| d.json()["type"] == "callback.new_message").count() == 3
    })
    .await;
}
