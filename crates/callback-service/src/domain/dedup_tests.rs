//! Copies share a key; distinct events never do.

use serde_json::json;
use wework_client::callback::{CallbackEnvelope, NotifyType};

use super::*;
use crate::domain::wecom_xml;

const T0: i64 = 1_700_000_100; // 100 s into a 300 s bucket

fn env(notify: NotifyType, data: Value) -> CallbackEnvelope {
    CallbackEnvelope::new("guid-1", notify, data)
}

fn key(e: &CallbackEnvelope, at: i64) -> String {
    instance_key(e, None, at, DedupWindow::default()).into_string()
}

fn receipt(status: &str) -> CallbackEnvelope {
    env(NotifyType::SendResult, json!({"client_msg_id": "c-1", "msg_id": "m-9", "status": status, "at": 1}))
}

#[test]
fn a_resent_new_message_gets_the_same_key_whenever_it_arrives() {
    let m = env(NotifyType::NewMessage, json!({"msg_id": "m-1", "chat_id": "c", "text": "hi"}));
    assert_eq!(key(&m, T0), "i:guid-1:11010:m-1");
    assert_eq!(key(&m.clone(), T0 + 86_400), key(&m, T0));
    let other = env(NotifyType::NewMessage, json!({"msg_id": "m-2", "chat_id": "c", "text": "hi"}));
    assert_ne!(key(&other, T0), key(&m, T0));
    let other_account = CallbackEnvelope::new("guid-2", NotifyType::NewMessage, m.data.clone());
    assert_ne!(key(&other_account, T0), key(&m, T0));
}

#[test]
fn sent_delivered_and_failed_receipts_of_one_message_differ() {
    let sent = key(&receipt("sent"), T0);
    let delivered = key(&receipt("delivered"), T0);
    let failed = key(&receipt("failed"), T0);
    assert_eq!(sent, "i:guid-1:19001:c-1:sent");
    assert_ne!(sent, delivered);
    assert_ne!(delivered, failed);
    assert_eq!(key(&receipt("delivered"), T0 + 3_600), delivered);
}

#[test]
fn a_duplicate_body_without_an_id_gets_the_same_key_within_the_window() {
    let a = env(NotifyType::Logout, json!({"reason": "kicked", "extra": {"b": 1, "a": [1, 2]}}));
    // Same body, other key order and spacing: a copy.
    let copy: CallbackEnvelope = serde_json::from_str(
        r#"{"guid": "guid-1", "notify_type": 11004, "data": {"extra": {"a": [1,2], "b": 1}, "reason": "kicked"}}"#,
    )
    .expect("envelope");
    assert_eq!(key(&copy, T0 + 150), key(&a, T0));
    assert!(key(&a, T0).starts_with("i:guid-1:11004:"));
    // The same body in a later window is a new event.
    assert_ne!(key(&a, T0 + 300), key(&a, T0));
}

#[test]
fn distinct_bodies_and_types_get_distinct_keys() {
    let a = env(NotifyType::Logout, json!({"reason": "kicked"}));
    let b = env(NotifyType::Logout, json!({"reason": "expired"}));
    let c = env(NotifyType::SessionTimeout, json!({"reason": "kicked"}));
    let nested = env(NotifyType::Logout, json!({"reason": ["kicked"]}));
    let keys = [key(&a, T0), key(&b, T0), key(&c, T0), key(&nested, T0)];
    for (i, x) in keys.iter().enumerate() {
        for y in &keys[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn unusable_ids_fall_back_to_the_body_hash() {
    for data in [json!({}), json!({"msg_id": ""}), json!({"msg_id": "a:b"}), json!({"msg_id": "x".repeat(65)})] {
        let m = env(NotifyType::NewMessage, data);
        let k = key(&m, T0);
        assert_eq!(k.split(':').count(), 5, "{k}");
        assert!(k.ends_with(&format!(":{}", DedupWindow::default().bucket(T0))));
    }
    let numeric = env(NotifyType::NewMessage, json!({"msg_id": 42}));
    assert_eq!(key(&numeric, T0), "i:guid-1:11010:42");
    let no_status = env(NotifyType::SendResult, json!({"client_msg_id": "c-1"}));
    assert_ne!(key(&no_status, T0), "i:guid-1:19001:c-1:");
}

#[test]
fn keys_never_exceed_the_column() {
    let long_guid = "g".repeat(150);
    let m = CallbackEnvelope::new(long_guid.clone(), NotifyType::NewMessage, json!({"msg_id": "m-1"}));
    let k = key(&m, T0);
    assert!(k.len() <= MAX_KEY_LEN && k.starts_with("i:sha256:"), "{k}");
    assert_eq!(k, key(&m, T0 + 999_999));
    let other = CallbackEnvelope::new(long_guid, NotifyType::NewMessage, json!({"msg_id": "m-2"}));
    assert_ne!(key(&other, T0), k);
    // The longest guid the table holds with a hash-keyed body.
    let h = CallbackEnvelope::new("g".repeat(100), NotifyType::Heartbeat, Value::Null);
    assert!(key(&h, T0).len() <= MAX_KEY_LEN);
}

#[test]
fn windows_bucket_receive_times() {
    let w = DedupWindow::default();
    assert_eq!(w.secs(), 300);
    assert_eq!(w.bucket(599), 1);
    assert_eq!(w.bucket(600), 2);
    assert_eq!(w.bucket(-1), -1);
    assert_eq!(DedupWindow::from_secs(0), None);
    assert_eq!(DedupWindow::from_secs(60).map(|w| w.bucket(125)), Some(2));
}

#[test]
fn wecom_messages_key_by_msg_id_and_events_by_xml_hash() {
    let msg = "<xml><ToUserName>wx1</ToUserName><MsgType>text</MsgType><Content>hi</Content><MsgId>4561255354251345929</MsgId></xml>";
    let fields = wecom_xml::parse(msg).expect("xml");
    let w = DedupWindow::default();
    assert_eq!(wecom_key("app-1", &fields, msg, T0, w).as_str(), "w:app-1:4561255354251345929");
    assert_eq!(wecom_key("app-1", &fields, msg, T0 + 9_999, w).as_str(), "w:app-1:4561255354251345929");
    assert_ne!(wecom_key("app-2", &fields, msg, T0, w), wecom_key("app-1", &fields, msg, T0, w));

    let event = "<xml><ToUserName>wx1</ToUserName><MsgType>event</MsgType><Event>enter_agent</Event><CreateTime>1</CreateTime></xml>";
    let later = event.replace("<CreateTime>1<", "<CreateTime>2<");
    let (ef, lf) = (wecom_xml::parse(event).expect("xml"), wecom_xml::parse(&later).expect("xml"));
    let k = wecom_key("app-1", &ef, event, T0, w);
    assert_eq!(k, wecom_key("app-1", &ef, event, T0 + 10, w));
    assert_ne!(k, wecom_key("app-1", &lf, &later, T0, w));
    assert!(k.as_str().starts_with("w:app-1:") && k.as_str().len() <= MAX_KEY_LEN);
}

#[test]
fn a_callback_id_keys_events_without_a_provider_id() {
    let logout = CallbackEnvelope::new("g1", NotifyType::Logout, json!({"reason": "user"}));
    let first = instance_key(&logout, Some("cb-1"), 100, DedupWindow::default()).into_string();
    assert_eq!(first, "i:g1:11004:cb:cb-1");
    // A re-send carries the same id, even across a window edge.
    assert_eq!(instance_key(&logout, Some("cb-1"), 100_000, DedupWindow::default()).into_string(), first);
    // The same body under another id is another event (logged out twice).
    assert_ne!(instance_key(&logout, Some("cb-2"), 100, DedupWindow::default()).into_string(), first);
    // The provider's own id still wins for messages.
    let msg = CallbackEnvelope::new("g1", NotifyType::NewMessage, json!({"msg_id": "m9"}));
    assert_eq!(instance_key(&msg, Some("cb-3"), 100, DedupWindow::default()).into_string(), "i:g1:11010:m9");
    // An id that could confuse keys falls back to the body hash.
    assert!(!instance_key(&logout, Some("a:b"), 100, DedupWindow::default()).into_string().contains(":cb:"));
}
