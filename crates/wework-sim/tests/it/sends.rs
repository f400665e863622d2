//! Sends: de-duplication on `client_msg_id`, receipts, validation, and the
//! faults that make exactly-once hard (rate limits, timed-out sends).

use std::time::Duration;

use wework_client::NotifyType::SendResult;
use wework_client::callback::{SendResultData, SendStatus};
use wework_client::protocol::{ChatType, MessageContent, SendMessageRequest};
use wework_client::{HttpProviderConfig, ProviderError, WeworkProvider};
use wework_sim::Faults;

use crate::helpers::{TestSim, driver_config};

pub fn text(guid: &str, client_msg_id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        guid: guid.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        chat_id: "wm-peer".to_owned(),
        chat_type: ChatType::Private,
        content: MessageContent::Text { text: text.to_owned() },
        at_list: vec![],
    }
}

#[tokio::test]
async fn a_repeated_client_msg_id_is_sent_once_and_receipts_go_sent_then_delivered() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    let first = t.provider.send_message(&text(&guid, "c1", "hello")).await.unwrap();
    assert!(!first.duplicate);
    let again = t.provider.send_message(&text(&guid, "c1", "hello")).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.msg_id, first.msg_id);
    assert_eq!(t.sim.send_count(&guid, "c1"), 1);
    assert_eq!(t.sim.sends_of(&guid)[0].content, MessageContent::Text { text: "hello".into() });

    let receipts = t.receiver.wait_count(&guid, SendResult, 2).await;
    let receipts: Vec<SendResultData> = receipts.into_iter().map(|e| serde_json::from_value(e.data).unwrap()).collect();
    assert_eq!(receipts.iter().map(|r| r.status).collect::<Vec<_>>(), [SendStatus::Sent, SendStatus::Delivered]);
    assert!(receipts.iter().all(|r| r.msg_id == first.msg_id && r.client_msg_id == "c1"));
    let stats = t.sim.stats();
    assert_eq!((stats.sends, stats.duplicate_sends), (1, 1));
}

#[tokio::test]
async fn invalid_or_offline_sends_are_refused_and_not_recorded() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    assert!(matches!(t.provider.send_message(&text(&guid, "c1", "")).await, Err(ProviderError::InvalidRequest(_))));
    let mut no_chat = text(&guid, "c2", "hi");
    no_chat.chat_id.clear();
    assert!(matches!(t.provider.send_message(&no_chat).await, Err(ProviderError::InvalidRequest(_))));
    t.provider.logout(&guid).await.unwrap();
    assert!(matches!(t.provider.send_message(&text(&guid, "c3", "hi")).await, Err(ProviderError::NotLoggedIn(_))));
    assert!(t.sim.sends_of(&guid).is_empty());
}

#[tokio::test]
async fn past_the_rate_limit_a_send_is_refused_with_a_retry_after_and_not_performed() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.sim.set_faults(Faults { rate_limit_per_minute: 2, ..Faults::default() });
    for id in ["c1", "c2"] {
        t.provider.send_message(&text(&guid, id, "hi")).await.unwrap();
    }
    match t.provider.send_message(&text(&guid, "c3", "hi")).await {
        Err(ProviderError::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60))
        }
        other => panic!("expected rate limited, got {other:?}"),
    }
    assert_eq!(t.sim.send_count(&guid, "c3"), 0);
    // A retry of a send that went through is still answered as a duplicate.
    assert!(t.provider.send_message(&text(&guid, "c1", "hi")).await.unwrap().duplicate);
    assert_eq!(t.sim.sends_of(&guid).len(), 2);
}

#[tokio::test]
async fn a_send_that_timed_out_after_it_was_sent_is_answered_duplicate_on_retry() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    let impatient =
        t.driver(HttpProviderConfig { request_timeout: Duration::from_millis(200), max_retries: 0, ..driver_config() });
    t.sim.set_faults(Faults { send_timeout_ms: 1_000, ..Faults::default() });
    let err = impatient.send_message(&text(&guid, "c1", "hi")).await.unwrap_err();
    assert_eq!(err, ProviderError::Unavailable { message: "request timed out".into(), timed_out: true });
    assert_eq!(t.sim.send_count(&guid, "c1"), 1, "the send was performed");

    t.sim.set_faults(Faults::default());
    let retry = t.provider.send_message(&text(&guid, "c1", "hi")).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.msg_id, t.sim.sends_of(&guid)[0].msg_id);
    assert_eq!(t.sim.send_count(&guid, "c1"), 1);
}
