//! Task lifecycle over gRPC: signed delivery, idempotent create, the retry
//! schedule, Retry-After, fail-fast 4xx, redirects, response cap, cancel,
//! manual retry, lists and validation.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tonic::Code;
use wework_proto::task::{self as pb, TaskStatus};

use crate::helpers::*;
use crate::sink::Sink;

/// Standard Webhooks, computed here independently of the service's code.
fn expected_signature(whsec: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(whsec.trim_start_matches("whsec_")).expect("b64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_task_is_delivered_once_signed_with_its_webhook_id() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("orders", 0).await;
    let task = app.create(&creds, app.http_spec("order-1", &sink.url("/ok"), r#"{"order":1}"#)).await;
    assert_eq!(task.webhook_id, task.id);
    let done = app.wait_status(&task.id, TaskStatus::Succeeded).await;
    assert_eq!(done.attempts, 1);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.webhook_id, task.id);
    assert_eq!(r.body.as_ref(), br#"{"order":1}"#);
    assert_eq!(r.signature, expected_signature(&creds.signing_secret, &r.webhook_id, &r.timestamp, &r.body));
    assert!(r.headers.get("user-agent").and_then(|v| v.to_str().ok()).is_some_and(|ua| ua.contains("WeWork")));
    let execs = app.executions(&task.id).await;
    assert_eq!(execs.len(), 1);
    assert!(execs[0].success);
    assert_eq!(execs[0].http_status, 200);
    assert_eq!(execs[0].response_body, "ok");
}

#[tokio::test]
async fn creating_the_same_business_unique_id_twice_returns_the_first_task() {
    let app = spawn_app().await;
    let a = app.register_business("sys-a", 0).await;
    let b = app.register_business("sys-b", 0).await;
    let spec = app.http_spec("dup-1", "https://example.com/hook", "{}");
    let first = app
        .tasks()
        .create_task(as_business(&a.api_key, &a.api_secret, pb::CreateTaskRequest { task: Some(spec.clone()) }))
        .await
        .expect("first")
        .into_inner();
    let again = app
        .tasks()
        .create_task(as_business(&a.api_key, &a.api_secret, pb::CreateTaskRequest { task: Some(spec.clone()) }))
        .await
        .expect("again")
        .into_inner();
    assert!(first.created);
    assert!(!again.created);
    assert_eq!(first.task.as_ref().map(|t| &t.id), again.task.as_ref().map(|t| &t.id));
    let other = app.create(&b, spec).await;
    assert_ne!(Some(&other.id), first.task.as_ref().map(|t| &t.id), "unique per business system only");
}

#[tokio::test]
async fn failures_follow_the_retry_schedule_then_fail() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("retry", 0).await;
    let mut spec = app.http_spec("r-1", &sink.url("/fail"), "{}");
    spec.max_retries = Some(2);
    let task = app.create(&creds, spec).await;

    let pending = eventually(DEADLINE, || async {
        let t = app.get(&task.id).await;
        (t.attempts == 1 && t.status == TaskStatus::Pending as i32).then_some(t)
    })
    .await;
    let wait = pending.next_execute_at.expect("next").seconds - app.now().timestamp();
    assert!((4..=6).contains(&wait), "first retry after 5 s ± 20 %, got {wait} s");
    assert_eq!(pending.last_error, "HTTP 500");

    app.advance(chrono::Duration::seconds(7));
    let pending = eventually(DEADLINE, || async {
        let t = app.get(&task.id).await;
        (t.attempts == 2 && t.status == TaskStatus::Pending as i32).then_some(t)
    })
    .await;
    let wait = pending.next_execute_at.expect("next").seconds - app.now().timestamp();
    assert!((240..=360).contains(&wait), "second retry after 300 s ± 20 %, got {wait} s");

    app.advance(chrono::Duration::seconds(361));
    let failed = app.wait_status(&task.id, TaskStatus::Failed).await;
    assert_eq!(failed.attempts, 3);
    assert!(failed.finished_at.is_some());
    let execs = app.executions(&task.id).await;
    assert_eq!(execs.iter().map(|e| e.execution_sequence).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert!(execs.iter().all(|e| e.http_status == 500 && !e.success));
    assert!(execs[0].retry_after.is_none(), "the last attempt schedules nothing");
    assert_eq!(sink.count("/fail"), 3);
}

#[tokio::test]
async fn too_many_requests_waits_at_least_for_retry_after() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("throttled", 0).await;
    let task = app.create(&creds, app.http_spec("t-1", &sink.url("/throttle"), "{}")).await;
    let pending = eventually(DEADLINE, || async {
        let t = app.get(&task.id).await;
        (t.attempts == 1 && t.status == TaskStatus::Pending as i32).then_some(t)
    })
    .await;
    let wait = pending.next_execute_at.expect("next").seconds - app.now().timestamp();
    assert!(wait >= 120, "Retry-After: 120 honoured, got {wait} s");
    assert!(wait <= 125, "not much later than asked, got {wait} s");
}

#[tokio::test]
async fn a_client_error_fails_at_once_and_redirects_are_not_followed() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("strict", 0).await;
    let gone = app.create(&creds, app.http_spec("g-1", &sink.url("/gone"), "{}")).await;
    let redirect = app.create(&creds, app.http_spec("g-2", &sink.url("/redirect"), "{}")).await;
    let gone = app.wait_status(&gone.id, TaskStatus::Failed).await;
    assert_eq!(gone.attempts, 1);
    assert_eq!(gone.last_error, "HTTP 410");
    let redirect = app.wait_status(&redirect.id, TaskStatus::Failed).await;
    assert_eq!(redirect.last_error, "HTTP 302");
    assert_eq!(sink.count("/ok"), 0, "the Location was never fetched");
}

#[tokio::test]
async fn response_bodies_are_capped() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("big", 0).await;
    let task = app.create(&creds, app.http_spec("b-1", &sink.url("/big"), "{}")).await;
    app.wait_status(&task.id, TaskStatus::Succeeded).await;
    let exec = app.executions(&task.id).await.remove(0);
    assert_eq!(exec.response_body.len(), 16 * 1024);
    assert!(exec.response_truncated);
}

#[tokio::test]
async fn only_pending_tasks_can_be_cancelled() {
    let app = spawn_app().await;
    let creds = app.register_business("cancel", 0).await;
    let mut spec = app.http_spec("c-1", "https://example.com/later", "{}");
    spec.scheduled_at = Some(prost_types::Timestamp { seconds: app.now().timestamp() + 3600, nanos: 0 });
    let task = app.create(&creds, spec).await;
    let cancel = |id: String| {
        let mut client = app.tasks();
        let req = as_business(&creds.api_key, &creds.api_secret, pb::CancelTaskRequest { id });
        async move { client.cancel_task(req).await }
    };
    let cancelled = cancel(task.id.clone()).await.expect("cancel").into_inner();
    assert_eq!(cancelled.status, TaskStatus::Cancelled as i32);
    let again = cancel(task.id.clone()).await.expect_err("second cancel");
    assert_eq!(again.code(), Code::FailedPrecondition);
    app.advance(chrono::Duration::hours(2));
    assert_eq!(app.get(&task.id).await.status, TaskStatus::Cancelled as i32, "never runs");
}

#[tokio::test]
async fn a_failed_task_can_be_retried_by_hand() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("manual", 0).await;
    let task = app.create(&creds, app.http_spec("m-1", &sink.url("/gone"), "{}")).await;
    app.wait_status(&task.id, TaskStatus::Failed).await;
    let retried = app
        .tasks()
        .retry_task(as_business(&creds.api_key, &creds.api_secret, pb::RetryTaskRequest { id: task.id.clone() }))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.status, TaskStatus::Pending as i32);
    assert!(retried.last_error.is_empty());
    let failed = eventually(DEADLINE, || async {
        let t = app.get(&task.id).await;
        (t.attempts == 2 && t.status == TaskStatus::Failed as i32).then_some(t)
    })
    .await;
    assert_eq!(failed.attempts, 2);
    assert_eq!(sink.count("/gone"), 2);
    let succeeded = app.create(&creds, app.http_spec("m-2", &sink.url("/ok"), "{}")).await;
    app.wait_status(&succeeded.id, TaskStatus::Succeeded).await;
    let err = app
        .tasks()
        .retry_task(as_business(&creds.api_key, &creds.api_secret, pb::RetryTaskRequest { id: succeeded.id }))
        .await
        .expect_err("succeeded tasks are final");
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn business_systems_see_only_their_own_tasks() {
    let app = spawn_app().await;
    let a = app.register_business("own-a", 0).await;
    let b = app.register_business("own-b", 0).await;
    let mut spec = app.http_spec("x-1", "https://example.com/a", "{}");
    spec.tags = vec!["blue".into()];
    spec.scheduled_at = Some(prost_types::Timestamp { seconds: app.now().timestamp() + 3600, nanos: 0 });
    let task = app.create(&a, spec).await;
    let err = app
        .tasks()
        .get_task(as_business(&b.api_key, &b.api_secret, pb::GetTaskRequest { id: task.id.clone() }))
        .await
        .expect_err("other business");
    assert_eq!(err.code(), Code::NotFound);
    let list = |creds: &BusinessCreds, tag: &str| {
        let mut client = app.tasks();
        let req = as_business(
            &creds.api_key,
            &creds.api_secret,
            pb::ListTasksRequest { tag: tag.into(), ..Default::default() },
        );
        async move { client.list_tasks(req).await }
    };
    assert_eq!(list(&a, "blue").await.expect("list").into_inner().tasks.len(), 1);
    assert_eq!(list(&a, "red").await.expect("list").into_inner().tasks.len(), 0);
    assert_eq!(list(&b, "").await.expect("list").into_inner().tasks.len(), 0);
}

#[tokio::test]
async fn lists_page_with_a_cursor() {
    let app = spawn_app().await;
    let creds = app.register_business("pages", 0).await;
    for i in 0..5 {
        let mut spec = app.http_spec(&format!("p-{i}"), "https://example.com/p", "{}");
        spec.scheduled_at = Some(prost_types::Timestamp { seconds: app.now().timestamp() + 3600, nanos: 0 });
        app.create(&creds, spec).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .tasks()
            .list_tasks(as_business(
                &creds.api_key,
                &creds.api_secret,
                pb::ListTasksRequest {
                    page: Some(wework_proto::common::PageRequest { page_size: 2, page_token: token.clone() }),
                    status: TaskStatus::Pending as i32,
                    ..Default::default()
                },
            ))
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.tasks.into_iter().map(|t| t.business_unique_id));
        token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, vec!["p-4", "p-3", "p-2", "p-1", "p-0"]);
}

#[tokio::test]
async fn invalid_tasks_are_rejected_naming_the_field() {
    let app = spawn_app().await;
    let creds = app.register_business("valid", 0).await;
    let cases: Vec<(pb::TaskSpec, &str)> = vec![
        (pb::TaskSpec { business_unique_id: "v-1".into(), ..Default::default() }, "task.target"),
        (
            {
                let mut s = app.http_spec("v-2", "https://example.com", "{}");
                s.priority = 11;
                s
            },
            "task.priority",
        ),
        (app.http_spec("", "https://example.com", "{}"), "task.business_unique_id"),
        (app.http_spec("v-3", "ftp://example.com/x", "{}"), "task.http.url"),
        (
            {
                let mut s = app.http_spec("v-4", "https://example.com", "{}");
                s.timeout_ms = 10;
                s
            },
            "task.timeout_ms",
        ),
    ];
    for (spec, field) in cases {
        let err = app
            .tasks()
            .create_task(as_business(&creds.api_key, &creds.api_secret, pb::CreateTaskRequest { task: Some(spec) }))
            .await
            .expect_err(field);
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        let details = tonic_types::StatusExt::get_error_details(&err);
        let violations = details.bad_request().map(|b| b.field_violations.clone()).unwrap_or_default();
        assert!(violations.iter().any(|v| v.field == field), "{field} not named in {violations:?}");
    }
}

#[tokio::test]
async fn batch_create_reports_per_item_errors() {
    let app = spawn_app().await;
    let creds = app.register_business("batch", 0).await;
    let mut bad = app.http_spec("b-2", "https://example.com", "{}");
    bad.priority = 99;
    let tasks =
        vec![app.http_spec("b-1", "https://example.com", "{}"), bad, app.http_spec("b-1", "https://x.io", "{}")];
    let resp = app
        .tasks()
        .batch_create_tasks(as_business(&creds.api_key, &creds.api_secret, pb::BatchCreateTasksRequest { tasks }))
        .await
        .expect("batch")
        .into_inner();
    assert_eq!(resp.results.len(), 3);
    assert!(resp.results[0].created && resp.results[0].task.is_some());
    assert!(resp.results[1].error.contains("tasks[1].priority"), "{}", resp.results[1].error);
    assert!(resp.results[2].error.contains("tasks[2].business_unique_id"), "{}", resp.results[2].error);
}

#[tokio::test]
async fn bad_credentials_are_unauthenticated() {
    let app = spawn_app().await;
    let creds = app.register_business("creds", 0).await;
    let err = app
        .tasks()
        .list_tasks(as_business(&creds.api_key, "wrong-secret", pb::ListTasksRequest::default()))
        .await
        .expect_err("wrong secret");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = app.tasks().list_tasks(pb::ListTasksRequest::default()).await.expect_err("nothing");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = app.tasks().list_tasks(authed("garbage", pb::ListTasksRequest::default())).await.expect_err("garbage");
    assert_eq!(err.code(), Code::Unauthenticated);
}
