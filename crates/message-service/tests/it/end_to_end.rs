//! The whole send path with every worker: batches fed by the feeder, sent by
//! two dispatchers (two replicas on one database) through the simulator, a
//! pause and a restart in the middle — and each receiver gets the message
//! exactly once, counted by the simulator.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use message_service::AppState;
use message_service::worker::{batches, dispatcher};
use wework_proto::message::{self as pb, BatchStatus, targets};

use crate::helpers::{Tenant, TestApp, authed, spawn_app_with, text};

const RECEIVERS: usize = 10_000;

fn manual(n: usize) -> Option<pb::Targets> {
    let receivers = (0..n)
        .map(|i| targets::Receiver {
            conversation_id: format!("wm-{i:05}"),
            chat_type: pb::ChatType::Private as i32,
            name: format!("Customer {i}"),
            variables: Default::default(),
        })
        .collect();
    Some(pb::Targets { kind: Some(targets::Kind::Manual(targets::Manual { receivers })) })
}

async fn create_batch(app: &TestApp, t: &Tenant, account_id: &str, n: usize) -> pb::Batch {
    let req = pb::CreateBatchRequest {
        name: "spring sale".into(),
        account_id: account_id.into(),
        content: text("Spring sale starts today"),
        targets: manual(n),
        start: true,
        ..Default::default()
    };
    let resp = app.batches().create_batch(authed(&t.token, req)).await.expect("create batch").into_inner();
    let batch = resp.batch.expect("batch");
    assert_eq!(batch.total_count, n as u64);
    batch
}

async fn get_batch(app: &TestApp, t: &Tenant, id: &str) -> pb::Batch {
    let req = pb::BatchRef { id: id.into() };
    app.batches().get_batch(authed(&t.token, req)).await.expect("get batch").into_inner()
}

/// One round of every worker: the feeder on `feeder`, both dispatchers at once.
async fn round(feeder: &AppState, a: &AppState, b: &AppState) -> usize {
    batches::tick(feeder).await.expect("feed");
    let (ra, rb) = tokio::join!(dispatcher::tick(a), dispatcher::tick(b));
    ra.expect("dispatch a").sent + rb.expect("dispatch b").sent
}

/// The simulator's view: every receiver got exactly one message.
fn assert_exactly_once(app: &TestApp, guid: &str, n: usize) {
    let sends = app.sim.sends_of(guid);
    let receivers: HashSet<&str> = sends.iter().map(|s| s.chat_id.as_str()).collect();
    assert_eq!(receivers.len(), n, "distinct receivers reached");
    assert_eq!(sends.len(), n, "sends performed");
    assert_eq!(app.sim.stats().duplicate_sends, 0, "a message was handed to the instance twice");
}

#[tokio::test]
async fn a_batch_of_ten_thousand_over_two_dispatchers_reaches_each_receiver_once() {
    let app = spawn_app_with(|s| {
        s.dispatch.claim_batch = 200;
        s.dispatch.batch_window = 2_000;
        s.dispatch.concurrency = 32;
    })
    .await;
    let t = app.tenant("acme", 50_000).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    let batch = create_batch(&app, &t, &account_id, RECEIVERS).await;
    let other = app.replica().await;

    let deadline = Instant::now() + Duration::from_secs(240);
    let started = Instant::now();
    loop {
        round(&app.state, &app.state, &other).await;
        let b = get_batch(&app, &t, &batch.id).await;
        if b.status == BatchStatus::Completed as i32 {
            assert_eq!((b.success_count, b.failed_count, b.cancelled_count), (RECEIVERS as u64, 0, 0), "{b:?}");
            assert!((b.progress_percent - 100.0).abs() < 1e-9);
            break;
        }
        assert!(Instant::now() < deadline, "batch not done in time: {b:?}");
    }
    eprintln!("10,000 receivers fed and sent by two dispatchers in {:.1} s", started.elapsed().as_secs_f64());
    assert_exactly_once(&app, &guid, RECEIVERS);
}

#[tokio::test]
async fn a_batch_paused_and_restarted_mid_way_still_reaches_each_receiver_once() {
    let app = spawn_app_with(|s| {
        s.dispatch.claim_batch = 50;
        s.dispatch.batch_window = 100;
    })
    .await;
    let t = app.tenant("acme", 50_000).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    let n = 600;
    let batch = create_batch(&app, &t, &account_id, n).await;
    let state = app.state.clone();
    round(&state, &state, &state).await;
    round(&state, &state, &state).await;
    let sent_before_pause = app.sim.sends_of(&guid).len();
    assert!(sent_before_pause > 0 && sent_before_pause < n, "{sent_before_pause}");

    // Paused: nothing more is sent, however often the workers run.
    let req = pb::BatchRef { id: batch.id.clone() };
    let paused = app.batches().pause_batch(authed(&t.token, req.clone())).await.expect("pause").into_inner();
    assert_eq!(paused.status, BatchStatus::Paused as i32);
    for _ in 0..3 {
        assert_eq!(round(&state, &state, &state).await, 0);
    }
    assert_eq!(app.sim.sends_of(&guid).len(), sent_before_pause);

    // Resumed on a "restarted" service: a new replica picks up where it stopped.
    app.batches().resume_batch(authed(&t.token, req)).await.expect("resume");
    let restarted = app.replica().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        round(&restarted, &restarted, &restarted).await;
        let b = get_batch(&app, &t, &batch.id).await;
        if b.status == BatchStatus::Completed as i32 {
            assert_eq!(b.success_count, n as u64, "{b:?}");
            break;
        }
        assert!(Instant::now() < deadline, "batch not done in time: {b:?}");
    }
    assert_exactly_once(&app, &guid, n);

    // The instance's receipts (sent, then delivered) reach every message once.
    let answers = app.forward_receipts(&guid).await;
    assert_eq!(answers.len(), 2 * n, "a sent and a delivered receipt per message");
    let applied = answers.into_iter().map(|a| a.expect("receipt")).filter(|a| a.applied).count();
    assert_eq!(applied, n, "sent receipts after our own write change nothing; delivered ones do");
    let b = get_batch(&app, &t, &batch.id).await;
    assert_eq!((b.success_count, b.failed_count), (n as u64, 0), "{b:?}");
}

#[tokio::test]
async fn a_batch_cancelled_mid_way_sends_nothing_more_and_counts_the_rest_cancelled() {
    let app = spawn_app_with(|s| {
        s.dispatch.claim_batch = 20;
        s.dispatch.batch_window = 50;
    })
    .await;
    let t = app.tenant("acme", 50_000).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    let n = 300;
    let batch = create_batch(&app, &t, &account_id, n).await;
    let state = app.state.clone();
    round(&state, &state, &state).await;
    let sent = app.sim.sends_of(&guid).len();
    assert!(sent > 0 && sent < n);

    let req = pb::BatchRef { id: batch.id.clone() };
    let cancelled = app.batches().cancel_batch(authed(&t.token, req)).await.expect("cancel").into_inner();
    assert_eq!(cancelled.status, BatchStatus::Cancelled as i32);
    for _ in 0..3 {
        round(&state, &state, &state).await;
    }
    assert_eq!(app.sim.sends_of(&guid).len(), sent, "nothing is sent after the cancel");
    let b = get_batch(&app, &t, &batch.id).await;
    assert_eq!(b.success_count + b.failed_count + b.cancelled_count, n as u64, "{b:?}");
    assert_eq!(b.success_count, sent as u64, "{b:?}");
}
