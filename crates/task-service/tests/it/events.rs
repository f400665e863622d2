//! Tenant events: one signed delivery per tenant endpoint, idempotent on the
//! event id, announced live; service principals only.

use futures::StreamExt;
use tonic::Code;
use wework_proto::common::Event;
use wework_proto::task::{self as pb, TaskStatus};

use crate::helpers::*;
use crate::sink::Sink;

fn event(tenant: &str, id: &str) -> pb::PublishEventRequest {
    let data = wework_kit::events::json_to_struct(&serde_json::json!({"account_id": "acc-1", "status": "online"}));
    pb::PublishEventRequest {
        event: Some(Event {
            id: id.to_owned(),
            tenant_id: tenant.to_owned(),
            r#type: "account.status_changed".into(),
            source: "account-service".into(),
            subject: "acc-1".into(),
            occurred_at: None,
            data,
        }),
    }
}

#[tokio::test]
async fn a_published_event_reaches_the_tenant_webhook_once_and_the_live_stream() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let tenant = uuid::Uuid::now_v7().to_string();
    let created = app
        .endpoints()
        .upsert_endpoint(app.platform(pb::UpsertEndpointRequest {
            owner: format!("tenant:{tenant}"),
            url: sink.url("/ok"),
            ..Default::default()
        }))
        .await
        .expect("endpoint")
        .into_inner();
    let mut live = app.state.live.subscribe(&tenant).await.expect("subscribe");
    let id = uuid::Uuid::now_v7().to_string();
    let first = app.tasks().publish_event(app.platform(event(&tenant, &id))).await.expect("publish").into_inner();
    let again = app.tasks().publish_event(app.platform(event(&tenant, &id))).await.expect("again").into_inner();
    assert_eq!(first.event_id, id);
    assert_eq!(first.task_ids.len(), 1);
    assert_eq!(first.task_ids, again.task_ids, "re-publishing is one delivery");
    let task = app.wait_status(&first.task_ids[0], TaskStatus::Succeeded).await;
    assert_eq!(task.tenant_id, tenant);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["type"], "account.status_changed");
    assert_eq!(body["tenant_id"], tenant.as_str());
    assert_eq!(body["data"]["status"], "online");
    let secret = task_service::delivery::SigningSecret::parse_whsec(&created.signing_secret).expect("whsec");
    let ts: i64 = got[0].timestamp.parse().expect("ts");
    assert!(task_service::delivery::verify(&secret, &got[0].webhook_id, ts, &got[0].body, &got[0].signature));
    let announced = tokio::time::timeout(DEADLINE, live.next()).await.expect("in time").expect("event");
    assert_eq!(announced.id, id);
    // The tenant sees the delivery of its own event.
    let mine = app
        .tasks()
        .get_task(app.tenant(&tenant, &["task:read"], pb::GetTaskRequest { id: task.id.clone() }))
        .await
        .expect("tenant reads its delivery")
        .into_inner();
    assert_eq!(mine.id, task.id);
    let theirs = app
        .tasks()
        .get_task(app.tenant(&uuid::Uuid::now_v7().to_string(), &["task:read"], pb::GetTaskRequest { id: task.id }))
        .await
        .expect_err("another tenant");
    assert_eq!(theirs.code(), Code::NotFound);
}

#[tokio::test]
async fn a_tenant_without_a_webhook_gets_no_task_and_only_services_publish() {
    let app = spawn_app().await;
    let tenant = uuid::Uuid::now_v7().to_string();
    let resp = app.tasks().publish_event(app.platform(event(&tenant, ""))).await.expect("publish").into_inner();
    assert!(resp.task_ids.is_empty());
    assert!(!resp.event_id.is_empty(), "an id is generated");
    let err =
        app.tasks().publish_event(app.tenant(&tenant, &["*"], event(&tenant, ""))).await.expect_err("tenant principal");
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut bad = event(&tenant, "");
    if let Some(e) = bad.event.as_mut() {
        e.r#type = "Not A Type".into();
    }
    let err = app.tasks().publish_event(app.platform(bad)).await.expect_err("bad type");
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn the_kit_publisher_delivers_through_the_real_service() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let tenant = uuid::Uuid::now_v7().to_string();
    app.endpoints()
        .upsert_endpoint(app.platform(pb::UpsertEndpointRequest {
            owner: format!("tenant:{tenant}"),
            url: sink.url("/ok"),
            ..Default::default()
        }))
        .await
        .expect("endpoint");
    let secret = app.state.settings.auth.internal_secret.clone().expect("secret");
    let minter = std::sync::Arc::new(wework_kit::auth::ServiceTokenMinter::with_clock(
        "account-service",
        &secret,
        std::time::Duration::from_secs(300),
        app.clock.shared(),
    ));
    let publisher =
        wework_kit::events::EventPublisher::new(&app.grpc_url, minter, "account-service", app.clock.shared())
            .expect("publisher");
    let id = publisher
        .publish_event(&tenant, "account.online", "acc-9", serde_json::json!({"account_id": "acc-9"}))
        .await
        .expect("publish");
    eventually(DEADLINE, || async { (sink.count("/ok") == 1).then_some(()) }).await;
    let body: serde_json::Value = serde_json::from_slice(&sink.received()[0].body).expect("json");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["source"], "account-service");
    assert_eq!(body["subject"], "acc-9");
}
