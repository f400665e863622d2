//! Unit tests of send request parsing: one per rule, unhappy paths named by field.

use prost_types::Timestamp;
use wework_proto::message::content::{self as pc, Kind};
use wework_proto::message::{ChatType as PbChat, Content};

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

fn text(t: &str) -> Option<Content> {
    Some(Content { kind: Some(Kind::Text(pc::Text { text: t.to_owned() })) })
}

fn good() -> pb::SendMessageRequest {
    pb::SendMessageRequest {
        account_id: "acc-1".into(),
        conversation_id: "wm-123".into(),
        chat_type: PbChat::Private as i32,
        content: text("hello"),
        ..Default::default()
    }
}

fn fields(r: &pb::SendMessageRequest, prefix: &str) -> Vec<String> {
    match parse_send(r, prefix, now()) {
        Ok(d) => panic!("expected errors, got {d:?}"),
        Err(errors) => errors.into_iter().map(|e| e.field).collect(),
    }
}

#[test]
fn a_plain_text_send_parses_with_defaults() {
    let d = parse_send(&good(), "", now()).unwrap();
    assert_eq!(d.priority, DEFAULT_PRIORITY);
    assert_eq!(d.chat_type, ChatType::Private);
    assert_eq!(d.idempotency_key, None);
    assert!(matches!(d.source, Source::Content(_)));
}

#[test]
fn every_broken_field_is_named_at_once() {
    let r = pb::SendMessageRequest {
        account_id: " ".into(),
        conversation_id: "x".repeat(101),
        chat_type: 0,
        content: text(&"a".repeat(4001)),
        priority: 11,
        ..Default::default()
    };
    assert_eq!(
        fields(&r, ""),
        ["account_id", "conversation_id", "chat_type", "content.text.text", "priority"].map(String::from)
    );
}

#[test]
fn fields_carry_the_item_path() {
    let r = pb::SendMessageRequest { priority: 11, ..good() };
    assert_eq!(fields(&r, "messages[7]"), ["messages[7].priority"]);
    let r = pb::SendMessageRequest { content: None, ..good() };
    assert_eq!(fields(&r, "messages[0]"), ["messages[0].content"]);
}

#[test]
fn priority_zero_is_the_default_and_ten_the_highest() {
    assert_eq!(parse_send(&pb::SendMessageRequest { priority: 10, ..good() }, "", now()).unwrap().priority, 10);
    assert_eq!(parse_send(&pb::SendMessageRequest { priority: 1, ..good() }, "", now()).unwrap().priority, 1);
    assert_eq!(fields(&pb::SendMessageRequest { priority: 11, ..good() }, ""), ["priority"]);
}

#[test]
fn at_lists_belong_to_group_chats() {
    let r = pb::SendMessageRequest { at_list: vec!["u1".into()], ..good() };
    assert_eq!(fields(&r, ""), ["at_list"]);
    let r = pb::SendMessageRequest { chat_type: PbChat::Group as i32, ..r };
    assert_eq!(parse_send(&r, "", now()).unwrap().at_list, ["u1"]);
}

#[test]
fn content_and_template_are_exclusive() {
    let both = pb::SendMessageRequest { template_id: "tpl".into(), ..good() };
    assert_eq!(fields(&both, ""), ["template_id"]);
    let neither = pb::SendMessageRequest { content: None, ..good() };
    assert_eq!(fields(&neither, ""), ["content"]);
    let mut stray = good();
    stray.variables.insert("name".into(), "x".into());
    assert_eq!(fields(&stray, ""), ["variables"]);
    let mut tpl = pb::SendMessageRequest { content: None, template_id: " tpl-1 ".into(), ..good() };
    tpl.variables.insert("name".into(), "Ann".into());
    match parse_send(&tpl, "", now()).unwrap().source {
        Source::Template { id, variables } => {
            assert_eq!(id, "tpl-1");
            assert_eq!(variables["name"], "Ann");
        }
        other => panic!("expected a template, got {other:?}"),
    }
}

#[test]
fn schedules_reach_thirty_days_at_most() {
    let at = |secs: i64| Some(Timestamp { seconds: now().timestamp() + secs, nanos: 0 });
    let month = 30 * 86_400;
    let d = parse_send(&pb::SendMessageRequest { scheduled_time: at(month), ..good() }, "", now()).unwrap();
    assert_eq!(d.scheduled_time.map(|t| t.timestamp()), Some(now().timestamp() + month));
    assert_eq!(fields(&pb::SendMessageRequest { scheduled_time: at(month + 1), ..good() }, ""), ["scheduled_time"]);
    // The past means "now", and is kept as given.
    assert!(parse_send(&pb::SendMessageRequest { scheduled_time: at(-60), ..good() }, "", now()).is_ok());
    let bad = Some(Timestamp { seconds: 0, nanos: -5 });
    assert_eq!(fields(&pb::SendMessageRequest { scheduled_time: bad, ..good() }, ""), ["scheduled_time"]);
}

#[test]
fn idempotency_keys_are_short_printable_ascii() {
    let key = |k: &str| pb::SendMessageRequest { idempotency_key: k.into(), ..good() };
    let d = parse_send(&key("order-42 / retry"), "", now()).unwrap();
    assert_eq!(d.idempotency_key.as_deref(), Some("order-42 / retry"));
    assert!(parse_send(&key(&"k".repeat(128)), "", now()).is_ok());
    assert_eq!(fields(&key(&"k".repeat(129)), ""), ["idempotency_key"]);
    assert_eq!(fields(&key("tab\there"), ""), ["idempotency_key"]);
    assert_eq!(fields(&key("订单"), ""), ["idempotency_key"]);
}

#[test]
fn ids_are_trimmed_and_checked() {
    let r = pb::SendMessageRequest { account_id: " acc ".into(), conversation_id: " c ".into(), ..good() };
    let d = parse_send(&r, "", now()).unwrap();
    assert_eq!((d.account_id.as_str(), d.conversation_id.as_str()), ("acc", "c"));
    assert_eq!(
        fields(&pb::SendMessageRequest { conversation_id: "a\u{1}b".into(), ..good() }, ""),
        ["conversation_id"]
    );
    assert!(parse_send(&pb::SendMessageRequest { conversation_id: "字".repeat(100), ..good() }, "", now()).is_ok());
}
