//! SendMessage, SendMessages, GetMessage, ListMessages and CancelMessage as
//! a tenant sees them: idempotency, the daily quota, validation named by
//! field, per-item answers, tenant isolation, cancelling and templates.

use std::collections::HashMap;

use tonic::Code;
use wework_proto::common::PageRequest;
use wework_proto::message::{self as pb, ChatType, MessageStatus};

use crate::helpers::{assert_code, spawn_app, text, violated_fields};
use crate::messages_support::{text_of, text_request, variable};

#[tokio::test]
async fn a_repeated_key_returns_the_first_message_and_uses_quota_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 2).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let first = pb::SendMessageRequest { idempotency_key: "order-42".into(), ..text_request(&account, "wm-1", "hi") };
    let a = app.send(&t, first.clone()).await.expect("first send");
    assert!(a.created);
    let a = a.message.expect("message");
    assert_eq!(a.status, MessageStatus::Pending as i32);
    assert_eq!(a.idempotency_key, "order-42");

    let repeat = pb::SendMessageRequest { content: text("changed"), ..first.clone() };
    let b = app.send(&t, repeat).await.expect("repeat");
    assert!(!b.created);
    let b = b.message.expect("message");
    assert_eq!(b.id, a.id);
    assert_eq!(text_of(&b), "hi", "the first message, unchanged");

    // One of two used: one more fits, then the day is spent …
    app.send_ok(&t, &account, "wm-2", "second").await;
    let spent = assert_code(app.send(&t, text_request(&account, "wm-3", "third")).await, Code::ResourceExhausted);
    assert!(spent.message().contains("quota"), "{spent:?}");
    // … and the repeat still answers, without quota.
    let again = app.send(&t, first).await.expect("repeat after the quota is spent");
    assert_eq!((again.created, again.message.expect("message").id), (false, a.id));
}

#[tokio::test]
async fn validation_names_the_field_per_type() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let base = text_request(&account, "wm-1", "hi");
    let kind = |k: pb::content::Kind| Some(pb::Content { kind: Some(k) });
    let link = pb::content::Link { title: "Offer".into(), ..Default::default() };
    let image = pb::content::Image { url: "ftp://cdn.example/a.png".into(), file_size: 10 };
    let cases: Vec<(pb::SendMessageRequest, &str)> = vec![
        (pb::SendMessageRequest { content: text(&"字".repeat(4001)), ..base.clone() }, "content.text.text"),
        (pb::SendMessageRequest { content: kind(pb::content::Kind::Link(link)), ..base.clone() }, "content.link.url"),
        (
            pb::SendMessageRequest { content: kind(pb::content::Kind::Image(image)), ..base.clone() },
            "content.image.url",
        ),
        (pb::SendMessageRequest { at_list: vec!["u1".into()], ..base.clone() }, "at_list"),
        (pb::SendMessageRequest { priority: 11, ..base.clone() }, "priority"),
        (pb::SendMessageRequest { chat_type: 0, ..base.clone() }, "chat_type"),
        (pb::SendMessageRequest { conversation_id: String::new(), ..base.clone() }, "conversation_id"),
        (pb::SendMessageRequest { idempotency_key: "k".repeat(129), ..base.clone() }, "idempotency_key"),
    ];
    for (req, field) in cases {
        let status = assert_code(app.send(&t, req).await, Code::InvalidArgument);
        assert_eq!(violated_fields(&status), [field], "{status:?}");
    }
    // Mentions are fine in a group chat.
    let group = pb::SendMessageRequest { chat_type: ChatType::Group as i32, at_list: vec!["all".into()], ..base };
    let sent = app.send(&t, group).await.expect("group send").message.expect("message");
    assert_eq!(sent.at_list, ["all"]);
    let listed = app.list(&t, pb::ListMessagesRequest::default()).await.expect("list");
    assert_eq!(listed.messages.len(), 1, "refused sends store nothing");
}

#[tokio::test]
async fn send_messages_answers_each_item() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let other = app.tenant("globex", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let (foreign, _) = app.online_account(&other, "sales-2").await;
    let keyed = |key: &str, conv: &str| pb::SendMessageRequest {
        idempotency_key: key.into(),
        ..text_request(&account, conv, "hello")
    };
    let messages = vec![
        text_request(&account, "wm-0", "fine"),
        pb::SendMessageRequest { content: text(&"x".repeat(4001)), ..text_request(&account, "wm-1", "") },
        text_request(&foreign, "wm-2", "not ours"),
        keyed("dup", "wm-3"),
        keyed("dup", "wm-4"),
        pb::SendMessageRequest { priority: 99, chat_type: 0, ..text_request(&account, "wm-5", "x") },
    ];
    let items = app.send_list(&t, messages).await.expect("send messages");
    assert_eq!(items.len(), 6);
    assert!(items[0].created && items[0].message.is_some() && items[0].error_code == 0);
    assert_eq!(items[1].error_code, Code::InvalidArgument as i32);
    assert_eq!(items[1].error_message, "messages[1].content.text.text: at most 4000 characters");
    assert_eq!(items[2].error_code, Code::NotFound as i32, "{:?}", items[2]);
    let (three, four) = (items[3].message.as_ref().expect("3"), items[4].message.as_ref().expect("4"));
    assert!(items[3].created && !items[4].created);
    assert_eq!(three.id, four.id, "one key, one message");
    assert_eq!(items[5].error_code, Code::InvalidArgument as i32);
    assert!(items[5].error_message.contains("messages[5].chat_type"), "{}", items[5].error_message);
    assert!(items[5].error_message.contains("messages[5].priority"), "{}", items[5].error_message);
    let listed = app.list(&t, pb::ListMessagesRequest::default()).await.expect("list");
    assert_eq!(listed.messages.len(), 2);

    let status =
        assert_code(app.send_list(&t, vec![text_request(&account, "c", "x"); 1001]).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["messages"]);
}

#[tokio::test]
async fn a_list_that_does_not_fit_the_quota_is_refused_item_by_item() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 3).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let list = |n: usize| (0..n).map(|i| text_request(&account, &format!("wm-{i}"), "hi")).collect::<Vec<_>>();
    let items = app.send_list(&t, list(4)).await.expect("send messages");
    assert!(items.iter().all(|i| i.error_code == Code::ResourceExhausted as i32), "{items:?}");
    let items = app.send_list(&t, list(3)).await.expect("send messages");
    assert!(items.iter().all(|i| i.created), "{items:?}");
    assert_code(app.send(&t, text_request(&account, "wm-9", "one more")).await, Code::ResourceExhausted);
}

#[tokio::test]
async fn tenants_reach_only_their_own_messages() {
    let app = spawn_app().await;
    let acme = app.tenant("acme", 100).await;
    let globex = app.tenant("globex", 100).await;
    let (a_account, _) = app.online_account(&acme, "a-1").await;
    let (g_account, _) = app.online_account(&globex, "g-1").await;
    let mine = app.send_ok(&acme, &a_account, "wm-1", "acme's").await;
    let theirs = app.send_ok(&globex, &g_account, "wm-1", "globex's").await;
    assert_eq!(mine.tenant_id, acme.id);

    assert_code(app.get(&globex, &mine.id).await, Code::NotFound);
    assert_code(app.cancel(&globex, &mine.id).await, Code::NotFound);
    let status = assert_code(app.send(&globex, text_request(&a_account, "wm-2", "x")).await, Code::NotFound);
    assert!(status.message().contains("account"), "{status:?}");
    let listed = app.list(&globex, pb::ListMessagesRequest::default()).await.expect("list");
    assert_eq!(listed.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [theirs.id.as_str()]);
    let by_account = pb::ListMessagesRequest { account_id: a_account.clone(), ..Default::default() };
    assert!(app.list(&globex, by_account).await.expect("list").messages.is_empty());
    assert_eq!(app.get(&acme, &mine.id).await.expect("own message").id, mine.id);
    let unknown = app.send(&acme, text_request("no-such-account", "wm-3", "x")).await;
    assert_code(unknown, Code::NotFound);
}

#[tokio::test]
async fn only_pending_messages_can_be_cancelled() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 2).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let later = prost_types::Timestamp { seconds: app.now().timestamp() + 3_600, nanos: 0 };
    let req = pb::SendMessageRequest { scheduled_time: Some(later), ..text_request(&account, "wm-1", "later") };
    let scheduled = app.send(&t, req).await.expect("scheduled send").message.expect("message");
    let claimed = app.send_ok(&t, &account, "wm-2", "now").await;

    let cancelled = app.cancel(&t, &scheduled.id).await.expect("cancel pending");
    assert_eq!(cancelled.status, MessageStatus::Cancelled as i32);
    assert_eq!(app.stored(&scheduled.id).await.next_attempt_at, None);
    let again = assert_code(app.cancel(&t, &scheduled.id).await, Code::FailedPrecondition);
    assert!(again.message().contains("cancelled"), "{again:?}");

    app.mark(&claimed.id, "sending", None).await;
    assert_code(app.cancel(&t, &claimed.id).await, Code::FailedPrecondition);
    assert_eq!(app.stored(&claimed.id).await.status, "sending");
    // The cancelled message gave its quota back.
    app.send_ok(&t, &account, "wm-3", "fits again").await;
}

#[tokio::test]
async fn lists_filter_and_page_newest_first() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.send_ok(&t, &account, if i % 2 == 0 { "even" } else { "odd" }, "hi").await.id);
        app.advance_secs(1);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = Some(PageRequest { page_size: 2, page_token: token.clone() });
        let resp = app.list(&t, pb::ListMessagesRequest { page, ..Default::default() }).await.expect("list");
        seen.extend(resp.messages.into_iter().map(|m| m.id));
        token = resp.page.expect("page").next_page_token;
        if token.is_empty() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let odd = pb::ListMessagesRequest { conversation_id: "odd".into(), ..Default::default() };
    assert_eq!(app.list(&t, odd).await.expect("list").messages.len(), 2);
    app.mark(&ids[0], "sent", None).await;
    let sent = pb::ListMessagesRequest { status: MessageStatus::Sent as i32, ..Default::default() };
    assert_eq!(app.list(&t, sent).await.expect("list").messages.len(), 1);
    let texts = pb::ListMessagesRequest { message_type: "text".into(), direction: 1, ..Default::default() };
    assert_eq!(app.list(&t, texts).await.expect("list").messages.len(), 5);
    let cards = pb::ListMessagesRequest { message_type: "contact_card".into(), ..Default::default() };
    assert!(app.list(&t, cards).await.expect("list").messages.is_empty());
    let bad = pb::ListMessagesRequest { message_type: "fax".into(), status: 42, ..Default::default() };
    let status = assert_code(app.list(&t, bad).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["status", "message_type"]);
}

#[tokio::test]
async fn templates_render_with_their_variables() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let other = app.tenant("globex", 100).await;
    let (account, _) = app.online_account(&t, "sales-1").await;
    let tpl = app
        .insert_template(&t, "greeting", "Hello {{ name }}, order {{order}}", &[variable("name"), variable("order")])
        .await;
    let with = |vars: &[(&str, &str)]| pb::SendMessageRequest {
        content: None,
        template_id: tpl.clone(),
        variables: vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<HashMap<_, _>>(),
        ..text_request(&account, "wm-1", "")
    };
    let sent = app.send(&t, with(&[("name", "Ann"), ("order", "42")])).await.expect("template send");
    let sent = sent.message.expect("message");
    assert_eq!(text_of(&sent), "Hello Ann, order 42");
    assert_eq!(sent.template_id, tpl);

    let status = assert_code(app.send(&t, with(&[("name", "Ann")])).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["variables.order"]);
    let status =
        assert_code(app.send(&t, with(&[("name", "A"), ("order", "1"), ("x", "?")])).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["variables.x"]);
    // Another tenant's template is not found.
    let status = assert_code(app.send(&other, with(&[("name", "A"), ("order", "1")])).await, Code::NotFound);
    assert!(status.message().contains("template"), "{status:?}");
    app.deactivate_template(&tpl).await;
    assert_code(app.send(&t, with(&[("name", "A"), ("order", "1")])).await, Code::FailedPrecondition);
}
