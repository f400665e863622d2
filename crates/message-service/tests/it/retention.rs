//! The retention job: old messages that can no longer change go, in
//! batches; pending ones and recent ones stay; so do recent statistics.

use message_service::domain::status::MessageStatus;
use message_service::store;
use message_service::worker::retention;

use crate::dispatch_support::{app_with_account, find, insert_all, statistics_rows};

#[tokio::test]
async fn retention_purges_old_final_messages_only() {
    let (app, t, account, _guid) = app_with_account(|s| {
        s.retention.max_age_days = 30;
        s.retention.batch = 2;
    })
    .await;
    let finished = [MessageStatus::Sent, MessageStatus::Delivered, MessageStatus::Failed, MessageStatus::Cancelled];
    let mut old: Vec<_> = finished
        .iter()
        .enumerate()
        .map(|(i, status)| {
            let mut m = app.new_text(&t, &account, &format!("old-{i}"), "old");
            m.status = *status;
            m.next_attempt_at = None;
            m
        })
        .collect();
    let mut inbound = app.new_text(&t, &account, "someone", "hi there");
    inbound.direction = store::IN;
    inbound.next_attempt_at = None;
    old.push(inbound);
    let purgeable = insert_all(&app, old).await;
    let kept_old = insert_all(&app, vec![app.new_text(&t, &account, "still-pending", "wait")]).await;

    app.advance_secs(31 * 86_400);
    let mut recent = app.new_text(&t, &account, "recent", "new");
    recent.status = MessageStatus::Sent;
    let kept_recent = insert_all(&app, vec![recent]).await;

    assert_eq!(retention::run_once(&app.state).await.expect("retention"), 5);
    for id in &purgeable {
        assert!(find(&app, id).await.is_none(), "{id} must be purged");
    }
    for id in kept_old.iter().chain(&kept_recent) {
        assert!(find(&app, id).await.is_some(), "{id} must stay");
    }
    let today = app.now().format("%Y-%m-%d").to_string();
    let stats = statistics_rows(&app).await;
    assert!(!stats.is_empty());
    assert!(stats.iter().all(|s| s.stat_date == today), "old statistics must go: {stats:?}");

    assert_eq!(retention::run_once(&app.state).await.expect("retention"), 0, "nothing left to purge");
}
