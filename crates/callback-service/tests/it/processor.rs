//! The processor's guarantees: a processor that dies mid-event loses its
//! lease and the event is processed once by another; a guid's status events
//! apply in the order received; failing calls are retried with backoff and
//! then fail; unknown types are ignored with the reason; a replay repeats
//! nothing downstream; the due backlog the queue gauges sample.

use callback_service::store;
use callback_service::worker::processor;
use serde_json::json;
use wework_client::NotifyType;
use wework_proto::account::AccountStatus;
use wework_proto::callback::{ReplayEventRequest, ReplayEventsRequest};
use wework_proto::message::{Direction, ListMessagesRequest};

use crate::helpers::{TestApp, authed, spawn_app, spawn_app_with};
use wework_testkit::Tenant;

fn body(guid: &str, notify: NotifyType, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"guid": guid, "notify_type": notify.code(), "data": data})).expect("json")
}

fn message(guid: &str, msg_id: &str) -> Vec<u8> {
    body(
        guid,
        NotifyType::NewMessage,
        json!({"msg_id": msg_id, "chat_id": "chat-p", "chat_type": "private", "sender_id": "u1",
               "msg_type": "text", "text": "hello", "sent_at": 1_700_000_000_000_i64}),
    )
}

async fn inbound_count(app: &TestApp, t: &Tenant, account_id: &str) -> usize {
    let req =
        ListMessagesRequest { account_id: account_id.into(), direction: Direction::In as i32, ..Default::default() };
    app.messages.client().list_messages(authed(&t.token, req)).await.expect("list").into_inner().messages.len()
}

async fn event_with_type(app: &TestApp, event_type: &str) -> store::entity::event::Model {
    app.stored().await.into_iter().rev().find(|e| e.event_type == event_type).expect("event stored")
}

/// Drains everything the simulator sent so far (login events) so a test
/// starts from a quiet queue.
async fn settle(app: &TestApp) {
    app.process_until(|| async {
        let busy = app.stored().await.iter().any(|e| e.status == "received" || e.status == "processing");
        (!busy).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_event_whose_processor_died_is_processed_once_after_the_lease_expires() {
    let app = spawn_app().await;
    let t = app.tenant("lease").await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    assert_eq!(app.post_signed(app.sim.token(), &message(&guid, "ww-lease-1"), None).await.status, 200);

    // A replica claims the event and dies before writing anything.
    let now = app.now();
    let (claim, rows) =
        store::claim_due(app.state.db.writer(), "dead-replica", now, now + chrono::Duration::seconds(60), 10)
            .await
            .expect("claim");
    assert_eq!(rows.len(), 1, "the dead replica holds the event");
    assert_eq!(processor::tick(&app.state).await.expect("tick"), 0, "a held event is not taken");
    assert_eq!(inbound_count(&app, &t, &account_id).await, 0);

    app.advance_secs(61);
    assert_eq!(processor::reclaim(&app.state).await.expect("reclaim"), 1);
    assert_eq!(processor::tick(&app.state).await.expect("tick"), 1);
    let row = event_with_type(&app, "new_message").await;
    assert_eq!(row.status, "processed");
    assert_eq!(inbound_count(&app, &t, &account_id).await, 1);
    // The dead replica's late write changes nothing.
    let late = store::Outcome {
        status: callback_service::domain::status::EventStatus::Failed,
        tenant_id: None,
        account_id: None,
        parsed_data: None,
        error: Some("late".into()),
        retry_at: None,
    };
    assert!(!store::finish(app.state.db.writer(), &rows[0], &claim.claim_id, late, now).await.expect("finish"));
    assert_eq!(event_with_type(&app, "new_message").await.status, "processed");

    // A replay processes it again: the message is still stored once.
    let replayed = app.events().replay_event(authed(&t.token, ReplayEventRequest { id: row.id.clone() })).await;
    assert_eq!(replayed.expect("replay").into_inner().status, wework_proto::callback::EventStatus::Received as i32);
    app.process_until(|| async { (event_with_type(&app, "new_message").await.status == "processed").then_some(()) })
        .await;
    assert_eq!(inbound_count(&app, &t, &account_id).await, 1);
}

#[tokio::test]
async fn a_guids_status_events_apply_in_the_order_received() {
    let app = spawn_app().await;
    let t = app.tenant("order").await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    let token = app.sim.token().to_owned();
    let logout = body(&guid, NotifyType::Logout, json!({"reason": "user logged out"}));
    let login = body(&guid, NotifyType::LoginSuccess, json!({"user_info": {"user_id": "u", "name": "n"}}));
    let heartbeat = body(&guid, NotifyType::Heartbeat, json!({}));
    assert_eq!(app.post_signed(&token, &heartbeat, Some("o-0")).await.status, 200);
    assert_eq!(app.post_signed(&token, &logout, Some("o-1")).await.status, 200);
    assert_eq!(app.post_signed(&token, &login, Some("o-2")).await.status, 200);

    // One claim takes the heartbeat and the logout, not the login behind it.
    let now = app.now();
    let (_, rows) =
        store::claim_due(app.state.db.writer(), "slow-replica", now, now + chrono::Duration::seconds(60), 10)
            .await
            .expect("claim");
    let types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    assert_eq!(types, ["heartbeat", "logout"]);
    assert_eq!(processor::tick(&app.state).await.expect("tick"), 0, "the login waits for the logout");

    app.advance_secs(61);
    processor::reclaim(&app.state).await.expect("reclaim");
    settle(&app).await;
    // Logged out, then logged in again: online, as the instance last said.
    assert_eq!(app.accounts.status(&t, &account_id).await, AccountStatus::Online);
    let statuses: Vec<String> =
        app.stored().await.iter().filter(|e| e.guid == guid).map(|e| e.status.clone()).collect();
    assert!(statuses.iter().all(|s| s == "processed"), "{statuses:?}");
}

#[tokio::test]
async fn a_failing_route_is_retried_with_backoff_then_failed_and_can_be_replayed() {
    let app = spawn_app_with(|s| {
        s.integrations.message_service_url = "http://127.0.0.1:9".into();
        s.processor.max_attempts = 3;
        s.processor.retry_backoff_ms = 1_000;
    })
    .await;
    let t = app.tenant("failing").await;
    let (_, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    assert_eq!(app.post_signed(app.sim.token(), &message(&guid, "ww-fail-1"), None).await.status, 200);
    processor::tick(&app.state).await.expect("tick");
    let first = event_with_type(&app, "new_message").await;
    assert_eq!((first.status.as_str(), first.retry_count), ("received", 1));
    assert!(first.error.as_deref().unwrap_or_default().contains("RecordInbound"), "{:?}", first.error);
    assert!(first.next_attempt_at > app.now(), "backs off");
    assert_eq!(processor::tick(&app.state).await.expect("tick"), 0, "not due before its backoff");

    app.advance_secs(2);
    processor::tick(&app.state).await.expect("tick");
    assert_eq!(event_with_type(&app, "new_message").await.retry_count, 2);
    app.advance_secs(5);
    processor::tick(&app.state).await.expect("tick");
    let failed = event_with_type(&app, "new_message").await;
    assert_eq!(failed.status, "failed");
    assert!(failed.error.as_deref().unwrap_or_default().contains("gave up after 3 attempts"));

    let filter = wework_proto::callback::EventFilter {
        status: wework_proto::callback::EventStatus::Failed as i32,
        ..Default::default()
    };
    let req = ReplayEventsRequest { filter: Some(filter), limit: 0 };
    assert_eq!(app.events().replay_events(authed(&t.token, req)).await.expect("replay").into_inner().replayed, 1);
    let again = event_with_type(&app, "new_message").await;
    assert_eq!((again.status.as_str(), again.retry_count), ("received", 0));
}

#[tokio::test]
async fn an_unknown_notify_type_is_stored_and_ignored_with_the_reason() {
    let app = spawn_app().await;
    let t = app.tenant("unknown").await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    let raw = serde_json::to_vec(&json!({"guid": guid, "notify_type": 12345, "data": {"x": 1}})).expect("json");
    assert_eq!(app.post_signed(app.sim.token(), &raw, None).await.status, 200);
    settle(&app).await;
    let row = event_with_type(&app, "unknown_12345").await;
    assert_eq!(row.status, "ignored");
    assert_eq!(row.error.as_deref(), Some("unknown notify_type 12345"));
    assert_eq!(row.account_id.as_deref(), Some(account_id.as_str()));
}

#[tokio::test]
async fn finished_events_past_the_retention_age_are_deleted_and_waiting_ones_kept() {
    let app = spawn_app().await;
    let t = app.tenant("retention").await;
    let (_, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    let finished = app.stored().await.len();
    assert!(finished > 0);
    app.advance_secs(31 * 86_400);
    let heartbeat = body(&guid, NotifyType::Heartbeat, json!({"n": 1}));
    // Signed now by the instance; the service's clock is a month ahead, so
    // check against a fresh timestamp within its tolerance instead.
    let ts = app.now().timestamp();
    let sig = wework_client::callback::sign(app.sim.token().as_bytes(), ts, &heartbeat);
    let answer = app
        .post_instance(&heartbeat, &[("x-wework-timestamp", ts.to_string()), ("x-wework-signature", sig)], None)
        .await;
    assert_eq!(answer.status, 200);
    let deleted = callback_service::worker::retention::purge(&app.state).await.expect("purge");
    assert_eq!(deleted as usize, finished);
    let left = app.stored().await;
    assert_eq!(left.len(), 1, "the new, waiting event stays");
    assert_eq!(left[0].status, "received");
}

#[tokio::test]
async fn a_batch_held_up_by_a_slow_callee_keeps_its_lease() {
    // A message service that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app_with(|s| {
        s.integrations.message_service_url = silent_url;
        s.processor.lease_secs = 5;
    })
    .await;
    let t = app.tenant("slow").await;
    let (_, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    assert_eq!(app.post_signed(app.sim.token(), &message(&guid, "ww-slow-1"), None).await.status, 200);

    let state = app.state.clone();
    let running = tokio::spawn(async move { processor::tick(&state).await });
    let claimed = app
        .wait_for_stored(|e| (e.event_type == "new_message" && e.status == "processing").then_some(e.lease_until))
        .await
        .expect("leased");
    app.advance_secs(3);
    crate::helpers::eventually_true(|| async {
        event_with_type(&app, "new_message").await.lease_until.is_some_and(|until| until > claimed)
    })
    .await;
    // Past the first lease: the renewed one still holds, nothing is reclaimed.
    app.advance_secs(3);
    assert_eq!(processor::reclaim(&app.state).await.expect("reclaim"), 0);
    assert_eq!(running.await.expect("join").expect("tick"), 1);
    let row = event_with_type(&app, "new_message").await;
    assert_eq!((row.status.as_str(), row.retry_count), ("received", 1), "{:?}", row.error);
}

#[tokio::test]
async fn the_due_backlog_counts_waiting_events_and_the_oldest_wait() {
    let app = spawn_app().await;
    let t = app.tenant("backlog").await;
    let (_, guid) = app.online_account(&t, "sales-1").await;
    settle(&app).await;
    let db = app.state.db.reader();
    assert_eq!(store::due_backlog(db, app.now()).await.expect("sample").depth, 0);
    for id in ["m-1", "m-2"] {
        assert_eq!(app.post_signed(app.sim.token(), &message(&guid, id), None).await.status, 200);
    }
    let waiting: Vec<_> = app.stored().await.into_iter().filter(|e| e.status == "received").collect();
    assert_eq!(waiting.len(), 2);
    let sample = store::due_backlog(db, app.now()).await.expect("sample");
    assert_eq!(sample.depth, 2);
    assert_eq!(sample.oldest_due, waiting.iter().map(|e| e.next_attempt_at).min());
    settle(&app).await;
    assert_eq!(store::due_backlog(db, app.now()).await.expect("sample").depth, 0);
}
