//! Callback delivery: retries keep order, dropped and duplicated callbacks
//! as a receiver sees them, inbound messages.

use std::collections::HashSet;

use wework_client::NotifyType::{self, NewMessage};
use wework_client::WeworkProvider;
use wework_client::callback::NewMessageData;
use wework_client::protocol::{ChatType, MessageContent};
use wework_sim::{Faults, Inbound};

use crate::helpers::{TestSim, eventually};

fn inbound(text: &str) -> Inbound {
    Inbound { content: Some(MessageContent::Text { text: text.to_owned() }), ..Inbound::default() }
}

fn texts(t: &TestSim, guid: &str) -> Vec<String> {
    t.receiver
        .all_of(guid)
        .into_iter()
        .filter(|r| r.envelope.notify_type == NotifyType::NewMessage.code())
        .map(|r| match serde_json::from_value::<NewMessageData>(r.envelope.data).unwrap().content {
            MessageContent::Text { text } => text,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn failed_deliveries_are_retried_in_order() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.receiver.fail_next(3);
    for n in 0..3 {
        t.sim.inbound(&guid, inbound(&format!("m{n}"))).await.unwrap();
    }
    t.receiver.wait_count(&guid, NewMessage, 3).await;
    assert_eq!(texts(&t, &guid), ["m0", "m1", "m2"]);
    let stats = t.sim.stats();
    assert_eq!((stats.callbacks_retried, stats.callbacks_failed), (3, 0));
    assert_eq!(t.receiver.bad_signatures(), 0);
}

#[tokio::test]
async fn dropped_callbacks_never_arrive_and_duplicates_share_their_callback_id() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.sim.set_faults(Faults { drop_callback_rate: 1.0, ..Faults::default() });
    t.sim.inbound(&guid, inbound("dropped")).await.unwrap();
    t.sim.set_faults(Faults { duplicate_callback_rate: 1.0, ..Faults::default() });
    t.sim.inbound(&guid, inbound("twice")).await.unwrap();
    t.sim.set_faults(Faults::default());
    t.sim.inbound(&guid, inbound("once")).await.unwrap();

    // One queue per client: once "once" is in, everything before it was handled.
    eventually("the last message", || texts(&t, &guid).last().is_some_and(|m| m == "once").then_some(())).await;
    assert_eq!(texts(&t, &guid), ["twice", "twice", "once"]);
    let ids: Vec<String> = t
        .receiver
        .all_of(&guid)
        .into_iter()
        .filter(|r| r.envelope.notify_type == NewMessage.code())
        .map(|r| r.callback_id)
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    let all_ids: Vec<String> = t.receiver.all_of(&guid).into_iter().map(|r| r.callback_id).collect();
    assert_eq!(all_ids.iter().collect::<HashSet<_>>().len(), all_ids.len() - 1, "only the duplicate repeats");
    let stats = t.sim.stats();
    assert_eq!((stats.callbacks_dropped, stats.callbacks_duplicated), (1, 1));
}

#[tokio::test]
async fn inbound_messages_carry_their_fields_and_unique_ids() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    let sent = t
        .sim
        .inbound(
            &guid,
            Inbound {
                chat_id: "R-room".into(),
                chat_type: Some(ChatType::Group),
                sender_id: "wm-alice".into(),
                ..inbound("hi all")
            },
        )
        .await
        .unwrap();
    let got: NewMessageData = serde_json::from_value(t.receiver.wait_for(&guid, NewMessage).await.data).unwrap();
    assert_eq!(got, sent);
    assert_eq!((got.chat_id.as_str(), got.chat_type, got.sender_id.as_str()), ("R-room", ChatType::Group, "wm-alice"));

    t.sim.inbound_rate(&guid, 100).await.unwrap();
    let many = t.receiver.wait_count(&guid, NewMessage, 6).await;
    t.sim.inbound_rate(&guid, 0).await.unwrap();
    let ids: HashSet<String> =
        many.into_iter().map(|e| serde_json::from_value::<NewMessageData>(e.data).unwrap().msg_id).collect();
    assert!(ids.len() >= 6);
}

#[tokio::test]
async fn the_global_heartbeat_loss_fault_silences_every_client() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.sim.set_faults(Faults { heartbeat_loss: true, ..Faults::default() });
    assert_eq!(t.sim.emit_heartbeats().await, 0);
    t.sim.set_faults(Faults::default());
    assert_eq!(t.sim.emit_heartbeats().await, 1);
    t.receiver.wait_for(&guid, NotifyType::Heartbeat).await;
    assert!(!t.receiver.types_of(&guid).contains(&NotifyType::HeartbeatError.code()));
}

#[tokio::test]
async fn callbacks_wait_for_a_notify_url_and_go_to_the_latest_one() {
    let t = TestSim::start().await;
    let guid = t.provider.create_client(&Default::default()).await.unwrap().guid;
    eventually("the unroutable ready", || (t.sim.stats().callbacks_unroutable == 1).then_some(())).await;
    let bad = t.provider.set_notify_url(&guid, "ftp://nope").await;
    assert!(matches!(bad, Err(wework_client::ProviderError::InvalidRequest(_))));
    t.provider.set_notify_url(&guid, &t.receiver.url).await.unwrap();
    t.provider.get_qr_code(&guid).await.unwrap();
    t.receiver.wait_for(&guid, NotifyType::QrCodeChanged).await;
    assert_eq!(t.receiver.types_of(&guid), [NotifyType::QrCodeChanged.code()]);
}
