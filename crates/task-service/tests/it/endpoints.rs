//! Endpoints: tenant-scoped management, secrets shown to authorised callers,
//! and automatic disabling of an endpoint that keeps failing.

use futures::StreamExt;
use tonic::Code;
use wework_proto::task::{self as pb, EndpointStatus, TaskStatus};

use crate::helpers::*;
use crate::sink::Sink;

fn upsert(url: &str) -> pb::UpsertEndpointRequest {
    pb::UpsertEndpointRequest { url: url.to_owned(), ..Default::default() }
}

#[tokio::test]
async fn tenants_manage_only_their_own_endpoints() {
    let app = spawn_app().await;
    let a = uuid::Uuid::now_v7().to_string();
    let b = uuid::Uuid::now_v7().to_string();
    let rw = ["endpoint:read", "endpoint:write"];
    let created = app
        .endpoints()
        .upsert_endpoint(app.tenant(&a, &rw, upsert("https://a.example.com/hook")))
        .await
        .expect("upsert")
        .into_inner();
    assert!(created.created);
    assert!(created.signing_secret.starts_with("whsec_"));
    let endpoint = created.endpoint.expect("endpoint");
    assert_eq!(endpoint.owner, format!("tenant:{a}"));
    // Upserting again updates the URL and keeps the secret (not shown again).
    let again = app
        .endpoints()
        .upsert_endpoint(app.tenant(&a, &rw, upsert("https://a.example.com/v2")))
        .await
        .expect("upsert again")
        .into_inner();
    assert!(!again.created);
    assert!(again.signing_secret.is_empty());
    assert_eq!(again.endpoint.as_ref().map(|e| e.id.as_str()), Some(endpoint.id.as_str()));
    let with_secret = app
        .endpoints()
        .get_endpoint(app.tenant(&a, &rw, pb::GetEndpointRequest { id: endpoint.id.clone(), include_secret: true }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(with_secret.signing_secret, created.signing_secret);
    let read_only = app
        .endpoints()
        .get_endpoint(app.tenant(
            &a,
            &["endpoint:read"],
            pb::GetEndpointRequest { id: endpoint.id.clone(), include_secret: true },
        ))
        .await
        .expect_err("secret needs endpoint:write");
    assert_eq!(read_only.code(), Code::PermissionDenied);
    let other = app
        .endpoints()
        .get_endpoint(app.tenant(&b, &rw, pb::GetEndpointRequest { id: endpoint.id.clone(), include_secret: false }))
        .await
        .expect_err("other tenant");
    assert_eq!(other.code(), Code::NotFound);
    let foreign_owner = app
        .endpoints()
        .upsert_endpoint(app.tenant(
            &b,
            &rw,
            pb::UpsertEndpointRequest {
                owner: format!("tenant:{a}"),
                url: "https://evil.example.com".into(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("foreign owner");
    assert_eq!(foreign_owner.code(), Code::PermissionDenied);
    let listed = app
        .endpoints()
        .list_endpoints(app.tenant(&b, &rw, pb::ListEndpointsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert!(listed.endpoints.is_empty());
    let bad = app.endpoints().upsert_endpoint(app.tenant(&a, &rw, upsert("not a url"))).await.expect_err("bad url");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn an_endpoint_failing_too_long_is_disabled_and_its_owner_told() {
    let app = spawn_app_with(|s| s.worker.endpoint_disable_after_secs = 60).await;
    let sink = Sink::start().await;
    let tenant = uuid::Uuid::now_v7().to_string();
    let mut live = app.state.live.subscribe(&tenant).await.expect("subscribe");
    let endpoint = app
        .endpoints()
        .upsert_endpoint(app.platform(pb::UpsertEndpointRequest {
            owner: format!("tenant:{tenant}"),
            url: sink.url("/fail"),
            ..Default::default()
        }))
        .await
        .expect("upsert")
        .into_inner()
        .endpoint
        .expect("endpoint");
    let task = app
        .tasks()
        .create_task(app.platform(pb::CreateTaskRequest {
            task: Some(pb::TaskSpec {
                business_unique_id: "e-1".into(),
                target: Some(pb::task_spec::Target::EndpointId(endpoint.id.clone())),
                body: b"{}".to_vec(),
                retry_intervals: vec![30],
                max_retries: Some(5),
                ..Default::default()
            }),
        }))
        .await
        .expect("create")
        .into_inner()
        .task
        .expect("task");
    let get = || async {
        app.endpoints()
            .get_endpoint(app.platform(pb::GetEndpointRequest { id: endpoint.id.clone(), include_secret: false }))
            .await
            .expect("get")
            .into_inner()
            .endpoint
            .expect("endpoint")
    };
    eventually(DEADLINE, || async { get().await.failing_since.is_some().then_some(()) }).await;
    assert_eq!(get().await.status, EndpointStatus::Enabled as i32, "one failure is not enough");
    app.advance(chrono::Duration::seconds(40));
    eventually(DEADLINE, || async { app.get(&task.id).await.attempts.eq(&2).then_some(()) }).await;
    app.advance(chrono::Duration::seconds(40));
    let disabled =
        eventually(DEADLINE, || async { Some(get().await).filter(|e| e.status == EndpointStatus::Disabled as i32) })
            .await;
    assert!(disabled.disabled_reason.starts_with("auto"), "{}", disabled.disabled_reason);
    let event = tokio::time::timeout(DEADLINE, live.next()).await.expect("event in time").expect("event");
    assert_eq!(event.r#type, "endpoint.disabled");
    assert_eq!(event.subject, endpoint.id);
    // Further deliveries to it fail at once without a request.
    let before = sink.count("/fail");
    app.advance(chrono::Duration::seconds(40));
    let failed = app.wait_status(&task.id, TaskStatus::Failed).await;
    assert!(failed.last_error.contains("endpoint disabled"), "{}", failed.last_error);
    assert_eq!(sink.count("/fail"), before);
}
