//! The query API: events listed with filters and a cursor, confined to the
//! caller's tenant; one event with its raw body and parsed data; counts per
//! type and status with the backlog and processing latency; input errors
//! name their field.

use serde_json::json;
use tonic::Code;
use wework_client::NotifyType;
use wework_proto::callback::{
    EventFilter, EventStatus, GetEventRequest, GetStatsRequest, ListEventsRequest, ReplayEventRequest,
    ReplayEventsRequest,
};
use wework_proto::common::PageRequest;

use crate::helpers::{TestApp, assert_code, authed, spawn_app};

async fn post_logouts(app: &TestApp, guid: &str, n: usize) {
    for i in 0..n {
        let body =
            serde_json::to_vec(&json!({"guid": guid, "notify_type": NotifyType::Heartbeat.code(), "data": {"n": i}}))
                .expect("json");
        assert_eq!(app.post_signed(app.sim.token(), &body, Some(&format!("hb-{guid}-{i}"))).await.status, 200);
    }
}

#[tokio::test]
async fn events_are_listed_by_filter_and_cursor_within_the_callers_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("list-a").await;
    let b = app.tenant("list-b").await;
    let (account_a, guid_a) = app.online_account(&a, "a-1").await;
    let (_, guid_b) = app.online_account(&b, "b-1").await;
    post_logouts(&app, &guid_a, 5).await;
    post_logouts(&app, &guid_b, 2).await;

    let filter = EventFilter { event_type: "heartbeat".into(), ..Default::default() };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let req = ListEventsRequest {
            page: Some(PageRequest { page_size: 2, page_token: token.clone() }),
            filter: Some(filter.clone()),
        };
        let page = app.events().list_events(authed(&a.token, req)).await.expect("list").into_inner();
        seen.extend(page.events);
        token = page.page.expect("page").next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 5, "tenant a sees its own five heartbeats only");
    assert!(seen.iter().all(|e| e.guid == guid_a && e.account_id == account_a && e.raw_data.is_empty()));
    let at = |e: &wework_proto::callback::CallbackEvent| e.received_time.map(|t| (t.seconds, t.nanos));
    assert!(seen.windows(2).all(|w| at(&w[0]) >= at(&w[1])), "newest first");

    // Another tenant is refused; a platform caller may name any.
    let other = ListEventsRequest {
        filter: Some(EventFilter { tenant_id: b.id.clone(), ..Default::default() }),
        ..Default::default()
    };
    assert_code(app.events().list_events(authed(&a.token, other.clone())).await, Code::PermissionDenied);
    let all_b = app.events().list_events(authed(&app.admin, other)).await.expect("admin list").into_inner();
    assert!(!all_b.events.is_empty() && all_b.events.iter().all(|e| e.tenant_id == b.id));

    let get = GetEventRequest { id: seen[0].id.clone() };
    let full = app.events().get_event(authed(&a.token, get.clone())).await.expect("get").into_inner();
    assert!(full.raw_data.contains(&guid_a));
    assert_code(app.events().get_event(authed(&b.token, get)).await, Code::NotFound);

    let bad = ListEventsRequest {
        filter: Some(EventFilter { status: 99, source: "fax".into(), ..Default::default() }),
        ..Default::default()
    };
    let status = assert_code(app.events().list_events(authed(&a.token, bad)).await, Code::InvalidArgument);
    assert!(status.message().contains("filter.status") && status.message().contains("filter.source"));
}

#[tokio::test]
async fn stats_count_per_type_and_status_with_backlog_and_latency() {
    let app = spawn_app().await;
    let t = app.tenant("stats").await;
    let (_, guid) = app.online_account(&t, "s-1").await;
    app.process_until(|| async { Some(()) }).await;
    post_logouts(&app, &guid, 3).await;
    let stats = app.events().get_stats(authed(&t.token, GetStatsRequest::default())).await.expect("stats").into_inner();
    let waiting: u64 = stats
        .rows
        .iter()
        .filter(|r| r.event_type == "heartbeat" && r.status == EventStatus::Received as i32)
        .map(|r| r.count)
        .sum();
    assert_eq!(waiting, 3);
    assert!(stats.backlog >= 3);
    app.process_until(|| async {
        let s = app.events().get_stats(authed(&t.token, GetStatsRequest::default())).await.expect("stats").into_inner();
        (s.backlog == 0).then_some(())
    })
    .await;
    let stats = app.events().get_stats(authed(&t.token, GetStatsRequest::default())).await.expect("stats").into_inner();
    let processed: u64 = stats
        .rows
        .iter()
        .filter(|r| r.event_type == "heartbeat" && r.status == EventStatus::Processed as i32)
        .map(|r| r.count)
        .sum();
    assert_eq!(processed, 3);
    assert_eq!(stats.oldest_waiting_ms, 0);
    assert!(stats.processing_p99_ms >= stats.processing_p50_ms);
}

#[tokio::test]
async fn replays_are_for_finished_events_and_for_callers_allowed_to_replay() {
    let app = spawn_app().await;
    let t = app.tenant("replay").await;
    let (_, guid) = app.online_account(&t, "r-1").await;
    app.process_until(|| async { Some(()) }).await;
    post_logouts(&app, &guid, 1).await;
    let waiting = app.stored().await.into_iter().find(|e| e.status == "received").expect("a waiting event");
    let req = ReplayEventRequest { id: waiting.id.clone() };
    let status = assert_code(app.events().replay_event(authed(&t.token, req)).await, Code::FailedPrecondition);
    assert!(status.message().contains("received"));
    let missing = ReplayEventRequest { id: "0193a000-0000-7000-8000-000000000000".into() };
    assert_code(app.events().replay_event(authed(&t.token, missing)).await, Code::NotFound);
    let empty = ReplayEventRequest { id: String::new() };
    let status = assert_code(app.events().replay_event(authed(&t.token, empty)).await, Code::InvalidArgument);
    assert!(status.message().contains("id"));
    let too_many = ReplayEventsRequest { filter: None, limit: 10_001 };
    let status = assert_code(app.events().replay_events(authed(&t.token, too_many)).await, Code::InvalidArgument);
    assert!(status.message().contains("limit"));
    let unauthenticated = app.events().replay_events(ReplayEventsRequest::default()).await;
    assert_code(unauthenticated, Code::Unauthenticated);
}
