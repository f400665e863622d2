//! Conversations: an inbound message (11010 forwarded from the simulator's
//! callback by the callback service) creates its conversation, the next one
//! updates it; the user marks it read, pins and tags it; the message service
//! records its sends; lists filter and page.

use std::collections::HashSet;

use tonic::Code;
use wework_client::NotifyType;
use wework_client::protocol::{ChatType, MessageContent};
use wework_proto::account as pb;
use wework_proto::common::PageRequest;
use wework_sim::Inbound;

use crate::helpers::*;

fn key(account_id: &str, conversation_id: &str) -> (String, String) {
    (account_id.to_owned(), conversation_id.to_owned())
}

async fn get(app: &TestApp, t: &Tenant, (account_id, conversation_id): (String, String)) -> pb::Conversation {
    let req = pb::GetConversationRequest { account_id, conversation_id };
    app.conversations().get_conversation(authed(&t.token, req)).await.expect("get conversation").into_inner()
}

async fn list(
    app: &TestApp,
    t: &Tenant,
    mut req: pb::ListConversationsRequest,
    page_size: i32,
) -> Vec<pb::Conversation> {
    let (mut out, mut token) = (Vec::new(), String::new());
    loop {
        req.page = Some(PageRequest { page_size, page_token: token });
        let resp = app.conversations().list_conversations(authed(&t.token, req.clone())).await.expect("list");
        let resp = resp.into_inner();
        out.extend(resp.conversations);
        token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return out;
        }
    }
}

#[tokio::test]
async fn an_inbound_message_creates_then_updates_its_conversation() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Inbox").await;

    let first = app.sim.inbound(&guid, Inbound::default()).await.expect("inbound");
    let answers = app.forward(&guid).await;
    let (_, answer) = answers.iter().find(|(k, _)| *k == NotifyType::NewMessage.code()).expect("11010 forwarded");
    assert!(answer.applied, "{answer:?}");
    let conv = get(&app, &t, key(&account.id, &first.chat_id)).await;
    assert_eq!(conv.r#type, pb::ConversationType::Private as i32);
    assert_eq!((conv.name.as_str(), conv.unread_count), (first.sender_name.as_str(), 1));
    assert_eq!(conv.last_msg_content, "hello from the simulator");
    assert_eq!(
        conv.last_msg_time.as_ref().map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000),
        Some(first.sent_at)
    );

    let image = Inbound {
        content: Some(MessageContent::Image { url: "https://x/y.png".into(), file_size: 9 }),
        ..Inbound::default()
    };
    let second = app.sim.inbound(&guid, image).await.expect("inbound");
    app.forward(&guid).await;
    let conv = get(&app, &t, key(&account.id, &second.chat_id)).await;
    assert_eq!((conv.unread_count, conv.last_msg_content.as_str()), (2, "[Image]"));

    // The callback service re-sends a callback it is unsure about: counted once.
    let again = app.sim.callbacks_of(&guid).last().cloned().expect("callback");
    app.report(&guid, again.notify_type, &again.data).await;
    assert_eq!(get(&app, &t, key(&account.id, &second.chat_id)).await.unread_count, 2);

    let mut c = app.conversations();
    let read = pb::MarkConversationReadRequest {
        account_id: account.id.clone(),
        conversation_id: conv.conversation_id.clone(),
    };
    assert_eq!(c.mark_conversation_read(authed(&t.token, read)).await.expect("read").into_inner().unread_count, 0);
    let pin = pb::PinConversationRequest {
        account_id: account.id.clone(),
        conversation_id: conv.conversation_id.clone(),
        pinned: true,
    };
    assert!(c.pin_conversation(authed(&t.token, pin)).await.expect("pin").into_inner().is_pinned);
    let tag = pb::TagConversationRequest {
        account_id: account.id.clone(),
        conversation_id: conv.conversation_id.clone(),
        tags: vec!["vip".into(), " vip ".into(), "cn".into()],
    };
    assert_eq!(c.tag_conversation(authed(&t.token, tag)).await.expect("tag").into_inner().tags, vec!["vip", "cn"]);
    let stored = get(&app, &t, key(&account.id, &conv.conversation_id)).await;
    assert_eq!((stored.unread_count, stored.is_pinned, stored.tags.len()), (0, true, 2));

    let group = Inbound {
        chat_id: "R-team".into(),
        chat_type: Some(ChatType::Group),
        chat_name: "Team".into(),
        content: Some(MessageContent::Text { text: "x".repeat(500) }),
        ..Inbound::default()
    };
    app.sim.inbound(&guid, group).await.expect("group message");
    app.forward(&guid).await;
    let team = get(&app, &t, key(&account.id, "R-team")).await;
    assert_eq!((team.r#type, team.name.as_str()), (pb::ConversationType::Group as i32, "Team"));
    assert_eq!(team.last_msg_content.chars().count(), 200);
    let missing = pb::GetConversationRequest { account_id: account.id.clone(), conversation_id: "nobody".into() };
    assert_code(c.get_conversation(authed(&t.token, missing)).await, Code::NotFound);
}

#[tokio::test]
async fn the_message_service_records_its_sends() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Outbox").await;
    let now = app.clock_now().timestamp();
    let send = |secs: i64, text: &str| pb::UpsertConversationRequest {
        account_id: account.id.clone(),
        conversation_id: "wm-customer".into(),
        r#type: pb::ConversationType::Private as i32,
        name: "Customer".into(),
        last_msg_content: text.into(),
        last_msg_time: Some(prost_types::Timestamp { seconds: secs, nanos: 0 }),
        unread_increment: 0,
        msg_id: String::new(),
    };
    let mut c = app.conversations();
    assert_code(c.upsert_conversation(authed(&t.token, send(now, "hi"))).await, Code::PermissionDenied);
    let conv = c.upsert_conversation(app.as_service(send(now, "hi"))).await.expect("upsert").into_inner();
    assert_eq!((conv.unread_count, conv.last_msg_content.as_str(), conv.name.as_str()), (0, "hi", "Customer"));
    // A late report of an older send does not replace the last message.
    let older = c.upsert_conversation(app.as_service(send(now - 60, "earlier"))).await.expect("older").into_inner();
    assert_eq!((older.last_msg_content.as_str(), older.last_msg_time), ("hi", conv.last_msg_time));
    let newer = c.upsert_conversation(app.as_service(send(now + 5, "later"))).await.expect("newer").into_inner();
    assert_eq!(newer.last_msg_content, "later");

    let bad = pb::UpsertConversationRequest { r#type: 0, conversation_id: String::new(), ..send(now, "x") };
    let err = assert_code(c.upsert_conversation(app.as_service(bad)).await, Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, vec!["conversation_id", "type"]);
}

#[tokio::test]
async fn conversations_filter_and_page_newest_first() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Many").await;
    let base = app.clock_now().timestamp();
    let mut c = app.conversations();
    for i in 0..9_i64 {
        let req = pb::UpsertConversationRequest {
            account_id: account.id.clone(),
            conversation_id: format!("chat-{i}"),
            r#type: if i % 3 == 0 { pb::ConversationType::Group } else { pb::ConversationType::Private } as i32,
            name: format!("{} {i}", if i % 2 == 0 { "Even" } else { "Odd" }),
            last_msg_content: "m".into(),
            last_msg_time: Some(prost_types::Timestamp { seconds: base + i, nanos: 0 }),
            unread_increment: u32::from(i < 4),
            msg_id: String::new(),
        };
        c.upsert_conversation(app.as_service(req)).await.expect("upsert");
    }
    let all_req = || pb::ListConversationsRequest { account_id: account.id.clone(), ..Default::default() };
    let all = list(&app, &t, all_req(), 4).await;
    let ids: Vec<_> = all.iter().map(|c| c.conversation_id.clone()).collect();
    assert_eq!(ids, (0..9).rev().map(|i| format!("chat-{i}")).collect::<Vec<_>>(), "newest first, no repeats");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 9);

    let groups =
        list(&app, &t, pb::ListConversationsRequest { r#type: pb::ConversationType::Group as i32, ..all_req() }, 50)
            .await;
    assert_eq!(groups.len(), 3);
    let unread = list(&app, &t, pb::ListConversationsRequest { unread_only: true, ..all_req() }, 50).await;
    assert_eq!(unread.len(), 4);
    let odd = list(&app, &t, pb::ListConversationsRequest { text: "odd".into(), ..all_req() }, 50).await;
    assert_eq!(odd.len(), 4);

    let pin =
        pb::PinConversationRequest { account_id: account.id.clone(), conversation_id: "chat-2".into(), pinned: true };
    c.pin_conversation(authed(&t.token, pin)).await.expect("pin");
    let tag = pb::TagConversationRequest {
        account_id: account.id.clone(),
        conversation_id: "chat-5".into(),
        tags: vec!["Hot".into()],
    };
    c.tag_conversation(authed(&t.token, tag)).await.expect("tag");
    let pinned = list(&app, &t, pb::ListConversationsRequest { pinned_only: true, ..all_req() }, 50).await;
    assert_eq!(pinned.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), vec!["chat-2"]);
    let hot = list(&app, &t, pb::ListConversationsRequest { tag: "hot".into(), ..all_req() }, 50).await;
    assert_eq!(hot.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(), vec!["chat-5"]);
    let none = list(&app, &t, pb::ListConversationsRequest { tag: "ho".into(), ..all_req() }, 50).await;
    assert!(none.is_empty(), "a tag matches whole: {none:?}");
}
