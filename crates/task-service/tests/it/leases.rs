//! Leases across replicas: a crashed worker's task is reclaimed and runs
//! again with the same webhook-id; two workers drain 2,000 tasks with every
//! task delivered and none executing concurrently; the due backlog the
//! queue gauges sample.

use wework_proto::task::{self as pb, TaskStatus};

use crate::helpers::*;
use crate::sink::Sink;

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_task_runs_again() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let sink = Sink::start().await;
    let creds = app.register_business("crash", 0).await;
    let task = app.create(&creds, app.http_spec("c-1", &sink.url("/ok"), "{}")).await;
    // A worker claims the task, then its process dies: nothing is ever written back.
    let now = app.now();
    let (_, claimed) = task_service::store::claim_due_tasks(
        app.state.db.writer(),
        "doomed-worker",
        now,
        now + chrono::Duration::seconds(30),
        10,
    )
    .await
    .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.get(&task.id).await.status, TaskStatus::Running as i32);

    // Within the lease nobody may take it back.
    let within = now + chrono::Duration::seconds(10);
    assert_eq!(task_service::store::reclaim_expired_tasks(app.state.db.writer(), within).await.expect("reclaim"), 0);
    assert_eq!(app.get(&task.id).await.status, TaskStatus::Running as i32);

    let survivor = app.replica(|s| s.worker.enabled = true).await;

    survivor.advance(chrono::Duration::seconds(31));
    let done = survivor.wait_status(&task.id, TaskStatus::Succeeded).await;
    assert_eq!(done.attempts, 2, "the lost attempt counts");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].webhook_id, task.id, "same webhook-id after the crash");
    let execs = survivor.executions(&task.id).await;
    assert_eq!(execs.len(), 1);
    assert_eq!(execs[0].execution_sequence, 2);
}

#[tokio::test]
async fn a_stale_worker_cannot_overwrite_the_new_holder() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let creds = app.register_business("stale", 0).await;
    let task = app.create(&creds, app.http_spec("s-1", "https://example.com/x", "{}")).await;
    let db = app.state.db.writer();
    let now = app.now();
    let (old_claim, _) = task_service::store::claim_due_tasks(db, "old", now, now + chrono::Duration::seconds(30), 1)
        .await
        .expect("claim");
    let later = now + chrono::Duration::seconds(31);
    assert_eq!(task_service::store::reclaim_expired_tasks(db, later).await.expect("reclaim"), 1);
    let (new_claim, rows) =
        task_service::store::claim_due_tasks(db, "new", later, later + chrono::Duration::seconds(30), 1)
            .await
            .expect("claim again");
    assert_eq!(rows.len(), 1);
    let record = |claim_id: &str, next| task_service::store::AttemptRecord {
        task_id: task.id.clone(),
        claim_id: claim_id.to_owned(),
        business_id: creds.system.id.clone(),
        tenant_id: None,
        endpoint_id: None,
        sequence: 1,
        started_at: later,
        duration_ms: 5,
        http_status: Some(500),
        response_headers: None,
        response_body: None,
        response_truncated: false,
        error: Some("HTTP 500".into()),
        next,
    };
    let applied = task_service::store::record_attempts(
        db,
        vec![record(&old_claim, task_service::store::NextStep::Failed)],
        later,
    )
    .await
    .expect("write");
    assert!(applied.is_empty(), "the old holder's result is dropped");
    assert_eq!(app.get(&task.id).await.status, TaskStatus::Running as i32);
    let mut ok = record(&new_claim, task_service::store::NextStep::Succeeded);
    ok.sequence = 2;
    ok.http_status = Some(200);
    ok.error = None;
    let applied = task_service::store::record_attempts(db, vec![ok], later).await.expect("write");
    assert_eq!(applied.len(), 1);
    assert_eq!(app.get(&task.id).await.status, TaskStatus::Succeeded as i32);
    assert_eq!(app.executions(&task.id).await.len(), 1, "only the holder's execution row exists");
}

#[tokio::test]
async fn two_workers_deliver_2000_tasks_each_exactly_once() {
    let app = spawn_app_with(|s| s.worker.worker_id = "worker-a".into()).await;
    let second = app.replica(|s| s.worker.worker_id = "worker-b".into()).await;
    let sink = Sink::start().await;
    let creds = app.register_business("bulk", 0).await;
    const N: usize = 2000;
    for chunk in 0..(N / 500) {
        let tasks =
            (0..500).map(|i| app.http_spec(&format!("bulk-{}", chunk * 500 + i), &sink.url("/ok"), "{}")).collect();
        let resp = app
            .tasks()
            .batch_create_tasks(as_business(&creds.api_key, &creds.api_secret, pb::BatchCreateTasksRequest { tasks }))
            .await
            .expect("batch")
            .into_inner();
        assert!(resp.results.iter().all(|r| r.created), "all created");
    }
    second.state.wake.notify_one();
    eventually(std::time::Duration::from_secs(120), || async { (sink.count("/ok") >= N).then_some(()) }).await;
    // Results are written just after the receiver answered.
    let stats = eventually(DEADLINE, || async {
        let stats = app
            .stats()
            .get_task_stats(as_business(&creds.api_key, &creds.api_secret, pb::GetTaskStatsRequest::default()))
            .await
            .expect("stats")
            .into_inner();
        (stats.succeeded as usize == N).then_some(stats)
    })
    .await;
    assert_eq!(stats.pending + stats.running + stats.failed, 0);
    let got = sink.received();
    let mut per_id = std::collections::HashMap::<String, usize>::new();
    for r in &got {
        *per_id.entry(r.webhook_id.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), N, "every task delivered");
    assert!(per_id.values().all(|n| *n == 1), "no task delivered twice");
    assert_eq!(sink.max_concurrent_same_id(), 1, "no task ever ran concurrently");
    let workers: std::collections::HashSet<String> = {
        use sea_orm::{EntityTrait, QuerySelect};
        task_service::store::entity::execution::Entity::find()
            .select_only()
            .column(task_service::store::entity::execution::Column::ClaimId)
            .into_tuple::<String>()
            .all(app.state.db.reader())
            .await
            .expect("claims")
            .into_iter()
            .collect()
    };
    assert!(workers.len() > 1, "work was spread over claims");
}

#[tokio::test]
async fn a_long_request_keeps_its_lease() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("long", 0).await;
    let mut spec = app.http_spec("l-1", &sink.url("/hold"), "{}");
    spec.timeout_ms = 60_000;
    let task = app.create(&creds, spec).await;
    eventually(DEADLINE, || async { (sink.count("/hold") == 1).then_some(()) }).await;
    let lease_of = || async {
        use sea_orm::EntityTrait;
        task_service::store::entity::task::Entity::find_by_id(task.id.clone())
            .one(app.state.db.reader())
            .await
            .expect("read")
            .and_then(|t| t.lease_until)
            .expect("leased")
    };
    let first = lease_of().await;
    // The request outlives the lease it started with: the worker extends it.
    app.clock.advance(chrono::Duration::seconds(25));
    let renewed = eventually(DEADLINE, || async { Some(lease_of().await).filter(|l| *l > first) }).await;
    app.clock.advance(chrono::Duration::seconds(10));
    assert!(app.now() > first && app.now() < renewed, "past the first lease, within the renewed one");
    let taken = task_service::store::reclaim_expired_tasks(app.state.db.writer(), app.now()).await.expect("reclaim");
    assert_eq!(taken, 0, "a renewed lease is not reclaimed");
    sink.release();
    let done = app.wait_status(&task.id, TaskStatus::Succeeded).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(sink.count("/hold"), 1);
}

#[tokio::test]
async fn the_due_backlog_counts_unclaimed_due_tasks_and_the_oldest_wait() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let creds = app.register_business("gauges", 0).await;
    let empty = task_service::store::due_backlog(app.state.db.reader(), app.now()).await.expect("sample");
    assert_eq!((empty.depth, empty.oldest_due), (0, None));
    let first = app.create(&creds, app.http_spec("g-1", "https://example.com/x", "{}")).await;
    app.advance(chrono::Duration::seconds(4));
    app.create(&creds, app.http_spec("g-2", "https://example.com/x", "{}")).await;
    app.advance(chrono::Duration::seconds(6));
    let now = app.now();
    let sample = task_service::store::due_backlog(app.state.db.reader(), now).await.expect("sample");
    assert_eq!(sample.depth, 2);
    let created = first.scheduled_at.map(|t| t.seconds).unwrap_or_default();
    assert_eq!(sample.oldest_due.map(|t| t.timestamp()), Some(created));
    assert!((sample.lag_seconds(now) - 10.0).abs() < 1.0, "{}", sample.lag_seconds(now));

    // A claimed task is no longer waiting.
    let db = app.state.db.writer();
    task_service::store::claim_due_tasks(db, "w", now, now + chrono::Duration::seconds(30), 1).await.expect("claim");
    let sample = task_service::store::due_backlog(app.state.db.reader(), now).await.expect("sample");
    assert_eq!(sample.depth, 1);
}
