//! The dispatcher against the simulator: sends exactly once, waits for
//! offline accounts, retries what may succeed, fails what cannot, and
//! never sends twice however many dispatchers run; the due backlog the
//! queue gauges sample.

use std::time::Duration;

use message_service::store::{self, DispatchResult, Resolution};
use message_service::worker::dispatcher::ACCOUNT_OFFLINE;
use wework_sim::{Faults, KickReason};

use crate::dispatch_support::{app_with_account, insert, insert_all, stat_sums, stored, tick};

#[tokio::test]
async fn a_message_is_sent_once_and_becomes_sent() {
    let (app, t, account, guid) = app_with_account(|_| {}).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    let report = tick(&app.state).await;
    assert_eq!((report.claimed, report.sent, report.lost), (1, 1, 0), "{report:?}");
    let row = stored(&app, &id).await;
    assert_eq!(row.status, "sent");
    let sends = app.sim.sends_of(&guid);
    assert_eq!(sends.len(), 1);
    assert_eq!(row.wework_msg_id.as_deref(), Some(sends[0].msg_id.as_str()));
    assert_eq!((sends[0].chat_id.as_str(), sends[0].client_msg_id.as_str()), ("alice", id.as_str()));
    assert_eq!(row.send_time, Some(app.now()));
    assert!(row.claim_id.is_none() && row.lease_until.is_none() && row.next_attempt_at.is_none());
    assert_eq!(stat_sums(&app).await, (1, 1, 0, 0, 1));
    // Nothing is due any more: a second round sends nothing.
    assert_eq!(tick(&app.state).await.claimed, 0);
    assert_eq!(app.sim.send_count(&guid, &id), 1);
}

#[tokio::test]
async fn an_offline_account_waits_then_sends_when_online() {
    let (app, t, account, guid) = app_with_account(|s| s.dispatch.offline_recheck_secs = 15).await;
    app.take_offline(&guid).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    let report = tick(&app.state).await;
    assert_eq!((report.claimed, report.deferred), (1, 1), "{report:?}");
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.retry_count), ("pending", 0));
    assert_eq!(row.next_attempt_at, Some(app.now() + chrono::Duration::seconds(15)));
    app.advance_secs(10);
    assert_eq!(tick(&app.state).await.claimed, 0, "not due before the recheck");

    let guid = app.bring_online(&t, &account).await;
    app.advance_secs(5);
    assert_eq!(tick(&app.state).await.sent, 1);
    assert_eq!(stored(&app, &id).await.status, "sent");
    assert_eq!(app.sim.send_count(&guid, &id), 1);
}

#[tokio::test]
async fn an_account_offline_too_long_fails_the_message() {
    let (app, t, account, guid) = app_with_account(|s| {
        s.dispatch.offline_wait_secs = 60;
        s.dispatch.offline_recheck_secs = 30;
    })
    .await;
    app.take_offline(&guid).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    assert_eq!(tick(&app.state).await.deferred, 1);
    app.advance_secs(30);
    assert_eq!(tick(&app.state).await.deferred, 1, "still within offline_wait_secs");
    app.advance_secs(31);
    assert_eq!(tick(&app.state).await.failed, 1);
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.error_code.as_deref()), ("failed", Some(ACCOUNT_OFFLINE)));
    let text = row.error_message.unwrap_or_default();
    assert!(text.contains(&account) && text.contains("offline"), "{text}");
    assert_eq!(stat_sums(&app).await, (1, 0, 0, 1, 0));
    assert!(app.sim.sends_of(&guid).is_empty());
}

#[tokio::test]
async fn an_instance_that_lost_the_login_makes_the_message_wait() {
    // The account service still says online; the instance knows better.
    let (app, t, account, guid) = app_with_account(|s| s.dispatch.offline_recheck_secs = 15).await;
    app.sim.kick(&guid, KickReason::Logout).await.expect("kick");
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    assert_eq!(tick(&app.state).await.deferred, 1);
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.retry_count), ("pending", 0));
    assert_eq!(row.next_attempt_at, Some(app.now() + chrono::Duration::seconds(15)));
}

#[tokio::test]
async fn a_scheduled_message_is_sent_at_its_time_not_before() {
    let (app, t, account, guid) = app_with_account(|_| {}).await;
    let at = app.now() + chrono::Duration::hours(1);
    let mut m = app.new_text(&t, &account, "alice", "later");
    m.scheduled_time = Some(at);
    m.next_attempt_at = Some(at);
    let id = insert(&app, m).await;
    assert_eq!(tick(&app.state).await.claimed, 0);
    app.advance_secs(3_599);
    assert_eq!(tick(&app.state).await.claimed, 0);
    assert_eq!(app.sim.send_count(&guid, &id), 0);
    app.advance_secs(1);
    assert_eq!(tick(&app.state).await.sent, 1);
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.send_time), ("sent", Some(at)));
    // Latency counts from the scheduled time, not from creation.
    let stats = crate::dispatch_support::statistics_rows(&app).await;
    let latency = stats.iter().fold((0, 0), |(n, sum), s| (n + s.latency_samples, sum + s.latency_sum_ms));
    assert_eq!(latency, (1, 0));
}

#[tokio::test]
async fn a_timed_out_send_is_retried_and_sent_exactly_once() {
    let (app, t, account, guid) = app_with_account(|s| {
        s.provider.request_timeout_ms = 300;
        s.provider.max_retries = 0;
    })
    .await;
    app.sim.set_faults(Faults { send_timeout_ms: 1_000, ..Faults::default() });
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    let report = tick(&app.state).await;
    assert_eq!(report.retrying, 1, "{report:?}");
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.retry_count, row.error_code.as_deref()), ("pending", 1, Some("timeout")));
    let due = row.next_attempt_at.expect("retry scheduled") - app.now();
    assert!(due >= chrono::Duration::seconds(4) && due <= chrono::Duration::seconds(6), "{due}");
    assert_eq!(app.sim.send_count(&guid, &id), 1, "the timed-out send went out");

    app.sim.set_faults(Faults::default());
    app.advance_secs(6);
    assert_eq!(tick(&app.state).await.sent, 1);
    let row = stored(&app, &id).await;
    assert_eq!(row.status, "sent");
    assert_eq!(app.sim.send_count(&guid, &id), 1, "the retry was de-duplicated");
    assert_eq!(row.wework_msg_id.as_deref(), Some(app.sim.sends_of(&guid)[0].msg_id.as_str()));
    assert_eq!((row.error_code, row.error_message), (None, None));
}

#[tokio::test]
async fn a_restricted_account_fails_the_message_with_the_providers_code() {
    let (app, t, account, guid) = app_with_account(|_| {}).await;
    app.sim.ban(&guid).await.expect("ban");
    let banned = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    assert_eq!(tick(&app.state).await.failed, 1);
    let row = stored(&app, &banned).await;
    assert_eq!((row.status.as_str(), row.error_code.as_deref()), ("failed", Some("account_restricted")));
    assert!(row.next_attempt_at.is_none());
    assert_eq!(stat_sums(&app).await, (1, 0, 0, 1, 0));
    // Failed is final: nothing is claimed again.
    app.advance_secs(3_600);
    assert_eq!(tick(&app.state).await.claimed, 0);
}

#[tokio::test]
async fn a_request_the_instance_refuses_fails_as_invalid() {
    let (app, t, account, guid) = app_with_account(|_| {}).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "   ")).await;
    assert_eq!(tick(&app.state).await.failed, 1);
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.error_code.as_deref()), ("failed", Some("invalid_request")));
    assert!(app.sim.sends_of(&guid).is_empty());
}

#[tokio::test]
async fn transient_errors_fail_the_message_after_max_attempts() {
    let (app, t, account, guid) = app_with_account(|s| {
        s.dispatch.max_attempts = 3;
        s.provider.max_retries = 0;
    })
    .await;
    app.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    for attempt in 1..=2 {
        assert_eq!(tick(&app.state).await.retrying, 1, "attempt {attempt}");
        let row = stored(&app, &id).await;
        assert_eq!((row.status.as_str(), row.retry_count), ("pending", attempt));
        assert_eq!(row.error_code.as_deref(), Some("unavailable"));
        app.advance_secs(60);
    }
    assert_eq!(tick(&app.state).await.failed, 1);
    let row = stored(&app, &id).await;
    assert_eq!((row.status.as_str(), row.retry_count, row.error_code.as_deref()), ("failed", 3, Some("unavailable")));
    assert!(row.error_message.unwrap_or_default().contains("3 attempts"));
    assert!(app.sim.sends_of(&guid).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dispatchers_never_send_a_message_twice() {
    let (app, t, first, first_guid) = app_with_account(|_| {}).await;
    let mut accounts = vec![(first, first_guid)];
    for name in ["sales-2", "sales-3", "sales-4"] {
        accounts.push(app.online_account(&t, name).await);
    }
    let messages = (0..200).map(|i| {
        let (account, _) = &accounts[i % accounts.len()];
        app.new_text(&t, account, &format!("conv-{i}"), &format!("message {i}"))
    });
    let ids = insert_all(&app, messages.collect()).await;
    let replica = app.replica().await;
    let mut sent = 0;
    for _ in 0..20 {
        let (a, b, c) = tokio::join!(tick(&app.state), tick(&replica), tick(&app.state));
        assert_eq!(a.lost + b.lost + c.lost, 0);
        sent += a.sent + b.sent + c.sent;
        if sent == ids.len() {
            break;
        }
    }
    assert_eq!(sent, 200);
    for (i, id) in ids.iter().enumerate() {
        let (_, guid) = &accounts[i % accounts.len()];
        assert_eq!(app.sim.send_count(guid, id), 1, "message {i}");
        assert_eq!(stored(&app, id).await.status, "sent");
    }
    assert_eq!(stat_sums(&app).await, (200, 200, 0, 0, 200));
}

#[tokio::test]
async fn a_lease_taken_over_writes_nothing_for_the_old_holder() {
    let (app, t, account, _guid) = app_with_account(|_| {}).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    let db = app.state.db.writer();
    let now = app.now();
    let lease = chrono::Duration::seconds(60);
    let (old_claim, rows) = store::claim_due_messages(db, "old", now, now + lease, 10).await.expect("claim");
    assert_eq!(rows.len(), 1);
    app.advance_secs(61);
    assert_eq!(store::reclaim_expired_messages(db, app.now()).await.expect("reclaim"), 1);
    let (new_claim, again) =
        store::claim_due_messages(db, "new", app.now(), app.now() + lease, 10).await.expect("claim");
    assert_eq!(again.len(), 1);

    let late = DispatchResult {
        message: rows[0].clone(),
        resolution: Resolution::Sent { wework_msg_id: "late".into(), send_time: now, latency_ms: 5 },
    };
    let written = store::write_dispatch_results(db, &old_claim, vec![late], app.now()).await.expect("write");
    assert!(written.is_empty(), "the old holder's result must not be written");
    let row = stored(&app, &id).await;
    assert_eq!(
        (row.status.as_str(), row.claim_id.as_deref(), row.wework_msg_id),
        ("sending", Some(new_claim.as_str()), None)
    );
    assert_eq!(stat_sums(&app).await, (1, 0, 0, 0, 0), "nothing counted for a lost write");

    let mine = DispatchResult {
        message: again[0].clone(),
        resolution: Resolution::Failed { error_code: "x".into(), error_message: "y".into(), attempt: true },
    };
    assert_eq!(store::write_dispatch_results(db, &new_claim, vec![mine], app.now()).await.expect("write").len(), 1);
    assert_eq!(stored(&app, &id).await.status, "failed");
}

#[tokio::test]
async fn a_dispatcher_whose_lease_was_taken_over_during_a_slow_send_writes_nothing() {
    let (app, t, account, guid) = app_with_account(|s| s.provider.request_timeout_ms = 10_000).await;
    let id = insert(&app, app.new_text(&t, &account, "alice", "hello")).await;
    let replica = app.replica().await;
    // The first holder's send hangs at the instance for a while…
    app.sim.set_faults(Faults { latency_ms: 4_000, ..Faults::default() });
    let slow = {
        let state = app.state.clone();
        tokio::spawn(async move { tick(&state).await })
    };
    wework_kit::testing::eventually(Duration::from_secs(10), || async {
        (app.sim.api_calls(wework_client::protocol::paths::MESSAGE_SEND) == 1).then_some(())
    })
    .await;
    app.sim.set_faults(Faults::default());
    // …long enough to look dead: its lease runs out and a replica takes over.
    app.advance_secs(61);
    let taken = tick(&replica).await;
    assert_eq!((taken.reclaimed, taken.sent), (1, 1), "{taken:?}");
    assert_eq!(stored(&app, &id).await.status, "sent");
    let old = slow.await.expect("join");
    assert_eq!((old.sent, old.lost), (0, 1), "{old:?}");
    assert_eq!(app.sim.send_count(&guid, &id), 1, "the late send was de-duplicated");
    assert_eq!(stored(&app, &id).await.status, "sent");
    assert_eq!(stat_sums(&app).await, (1, 1, 0, 0, 1));
}

#[tokio::test]
async fn higher_priority_goes_first_then_longest_due() {
    let (app, t, account, guid) = app_with_account(|s| s.dispatch.claim_batch = 1).await;
    let mut low = app.new_text(&t, &account, "low", "low");
    low.priority = 1;
    let mut high = app.new_text(&t, &account, "high", "high");
    high.priority = 9;
    let mut older = app.new_text(&t, &account, "older", "older");
    older.next_attempt_at = Some(app.now() - chrono::Duration::seconds(30));
    let newer = app.new_text(&t, &account, "newer", "newer");
    insert_all(&app, vec![low, newer, high, older]).await;
    for _ in 0..4 {
        assert_eq!(tick(&app.state).await.sent, 1);
    }
    let order: Vec<String> = app.sim.sends_of(&guid).into_iter().map(|s| s.chat_id).collect();
    assert_eq!(order, ["high", "older", "newer", "low"]);
}

#[tokio::test]
async fn the_due_backlog_counts_unclaimed_due_messages_and_the_oldest_wait() {
    let (app, t, account, _guid) = app_with_account(|_| {}).await;
    let db = app.state.db.reader();
    assert_eq!(store::due_backlog(db, app.now()).await.expect("sample"), Default::default());
    let first_due = app.now();
    insert(&app, app.new_text(&t, &account, "alice", "one")).await;
    app.advance_secs(3);
    insert(&app, app.new_text(&t, &account, "bob", "two")).await;
    let sample = store::due_backlog(db, app.now()).await.expect("sample");
    assert_eq!((sample.depth, sample.oldest_due), (2, Some(first_due)));
    assert_eq!(sample.lag_seconds(app.now()), 3.0);
    // Claimed messages no longer wait (sent, or deferred to a later time).
    assert_eq!(tick(&app.state).await.claimed, 2);
    assert_eq!(store::due_backlog(db, app.now()).await.expect("sample").depth, 0);
}
