//! The per-account throttle as the dispatcher applies it, driven by the
//! manual clock: spacing, the spread of a backlog, the minute cap, the
//! instance's own rate limit, and (with Redis) one account's throttle
//! shared by replicas.

use chrono::Duration;
use serde_json::json;
use wework_sim::Faults;

use crate::dispatch_support::{app_with_account, insert_all, stored, tenant_throttle, tick};

/// Due times of `ids` as offsets from `base`, in seconds, sorted.
async fn due_offsets(app: &crate::helpers::TestApp, ids: &[String], base: chrono::DateTime<chrono::Utc>) -> Vec<i64> {
    let mut out = Vec::new();
    for id in ids {
        let row = stored(app, id).await;
        if row.status == "pending" {
            out.push((row.next_attempt_at.expect("due time") - base).num_seconds());
        }
    }
    out.sort_unstable();
    out
}

#[tokio::test]
async fn sends_of_one_account_keep_the_minimum_interval() {
    let (app, t, account, guid) = app_with_account(|s| s.throttle.enabled = true).await;
    tenant_throttle(&app, &t, json!({"min_interval_ms": 3000, "jitter_ms": 0})).await;
    let start = app.now();
    let ids = insert_all(&app, vec![app.new_text(&t, &account, "a", "1"), app.new_text(&t, &account, "b", "2")]).await;
    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.deferred), (1, 1), "{report:?}");
    assert_eq!(due_offsets(&app, &ids, start).await, [3]);
    app.advance_secs(2);
    assert_eq!(tick(&app.state).await.claimed, 0);
    app.advance_secs(1);
    assert_eq!(tick(&app.state).await.sent, 1);
    let sends = app.sim.sends_of(&guid);
    assert_eq!(sends.len(), 2);
    let rows = futures::future::join_all(ids.iter().map(|id| stored(&app, id))).await;
    let (first, second) = (rows[0].send_time.expect("sent"), rows[1].send_time.expect("sent"));
    assert_eq!((second - first).abs(), Duration::seconds(3));
}

#[tokio::test]
async fn an_accounts_backlog_comes_due_one_interval_apart() {
    let (app, t, account, guid) = app_with_account(|s| s.throttle.enabled = true).await;
    tenant_throttle(&app, &t, json!({"min_interval_ms": 3000, "jitter_ms": 0})).await;
    let start = app.now();
    let rows = (0..4).map(|i| app.new_text(&t, &account, &format!("c{i}"), "hi")).collect();
    let ids = insert_all(&app, rows).await;
    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.deferred), (1, 3), "{report:?}");
    // Not all at +3 s (re-claimed together every round), but one each interval.
    assert_eq!(due_offsets(&app, &ids, start).await, [3, 6, 9]);
    for _ in 0..3 {
        app.advance_secs(3);
        let report = tick(&app.state).await;
        assert_eq!((report.claimed, report.sent), (1, 1), "{report:?}");
    }
    assert_eq!(app.sim.sends_of(&guid).len(), 4);
}

#[tokio::test]
async fn the_minute_cap_holds_until_its_window_closes() {
    let (app, t, account, guid) = app_with_account(|s| s.throttle.enabled = true).await;
    tenant_throttle(&app, &t, json!({"min_interval_ms": 0, "jitter_ms": 0, "per_minute": 2})).await;
    let start = app.now();
    let rows = (0..4).map(|i| app.new_text(&t, &account, &format!("c{i}"), "hi")).collect();
    let ids = insert_all(&app, rows).await;
    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.deferred), (2, 2), "{report:?}");
    assert_eq!(due_offsets(&app, &ids, start).await, [60, 60]);
    app.advance_secs(59);
    assert_eq!(tick(&app.state).await.claimed, 0);
    app.advance_secs(1);
    assert_eq!(tick(&app.state).await.sent, 2);
    assert_eq!(app.sim.sends_of(&guid).len(), 4);
}

#[tokio::test]
async fn an_instance_rate_limit_pauses_the_account_for_its_retry_after() {
    let (app, t, account, guid) = app_with_account(|s| s.throttle.enabled = true).await;
    tenant_throttle(&app, &t, json!({"min_interval_ms": 0, "jitter_ms": 0})).await;
    app.sim.set_faults(Faults { rate_limit_per_minute: 1, ..Faults::default() });
    let ids = insert_all(&app, vec![app.new_text(&t, &account, "a", "1"), app.new_text(&t, &account, "b", "2")]).await;
    let report = tick(&app.state).await;
    assert_eq!((report.sent, report.deferred, report.retrying), (1, 1, 0), "{report:?}");
    let waiting = futures::future::join_all(ids.iter().map(|id| stored(&app, id))).await;
    let waiting = waiting.into_iter().find(|r| r.status == "pending").expect("one waits");
    assert_eq!(waiting.retry_count, 0, "a refused send is not an attempt");
    let due = waiting.next_attempt_at.expect("due time");
    let wait = due - app.now();
    assert!(wait >= Duration::seconds(50) && wait <= Duration::seconds(60), "{wait}");
    assert_eq!(app.state.throttle.state(&account).await.paused_until, Some(due));

    // Another message of the paused account waits for the pause too.
    let later = insert_all(&app, vec![app.new_text(&t, &account, "c", "3")]).await;
    assert_eq!(tick(&app.state).await.deferred, 1);
    assert_eq!(stored(&app, &later[0]).await.next_attempt_at, Some(due));

    app.sim.set_faults(Faults::default());
    app.clock.set(due);
    assert_eq!(tick(&app.state).await.sent, 2);
    assert_eq!(app.sim.sends_of(&guid).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_accounts_throttle() {
    let (app, t, account, guid) = app_with_account(|s| {
        s.throttle.enabled = true;
        s.dispatch.claim_batch = 1;
    })
    .await;
    if app.state.cache.redis().is_none() {
        // Without Redis the throttle state is per replica by design.
        return;
    }
    tenant_throttle(&app, &t, json!({"min_interval_ms": 3000, "jitter_ms": 0})).await;
    insert_all(&app, vec![app.new_text(&t, &account, "a", "1"), app.new_text(&t, &account, "b", "2")]).await;
    let replica = app.replica().await;
    let (a, b) = tokio::join!(tick(&app.state), tick(&replica));
    assert_eq!((a.claimed + b.claimed, a.sent + b.sent, a.deferred + b.deferred), (2, 1, 1), "{a:?} {b:?}");
    assert_eq!(app.sim.sends_of(&guid).len(), 1);
}
