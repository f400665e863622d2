//! Business systems: platform-only management, credentials shown once,
//! rotation with a signing overlap, disabling.

use tonic::Code;
use wework_proto::task::{self as pb, BusinessStatus, TaskStatus};

use crate::helpers::*;
use crate::sink::Sink;

#[tokio::test]
async fn only_the_platform_registers_systems_and_codes_are_unique() {
    let app = spawn_app().await;
    let tenant = uuid::Uuid::now_v7().to_string();
    let err = app
        .business()
        .register_business_system(app.tenant(
            &tenant,
            &["*"],
            pb::RegisterBusinessSystemRequest {
                business_code: "mine".into(),
                business_name: "Mine".into(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("tenant");
    assert_eq!(err.code(), Code::PermissionDenied);
    let creds = app.register_business("crm", 10).await;
    assert!(creds.api_key.starts_with("bk_"));
    assert!(creds.signing_secret.starts_with("whsec_"));
    assert_eq!(creds.system.rate_limit, 10);
    let dup = app
        .business()
        .register_business_system(app.platform(pb::RegisterBusinessSystemRequest {
            business_code: "crm".into(),
            business_name: "Again".into(),
            ..Default::default()
        }))
        .await
        .expect_err("duplicate");
    assert_eq!(dup.code(), Code::AlreadyExists);
    let bad = app
        .business()
        .register_business_system(app.platform(pb::RegisterBusinessSystemRequest {
            business_code: "Not Valid!".into(),
            business_name: "x".into(),
            ..Default::default()
        }))
        .await
        .expect_err("bad code");
    assert_eq!(bad.code(), Code::InvalidArgument);
    // A system reads itself, not others.
    let own = app
        .business()
        .get_business_system(as_business(
            &creds.api_key,
            &creds.api_secret,
            pb::GetBusinessSystemRequest { id: creds.system.id.clone() },
        ))
        .await
        .expect("own")
        .into_inner();
    assert_eq!(own.business_code, "crm");
    let other = app.register_business("erp", 0).await;
    let err = app
        .business()
        .get_business_system(as_business(
            &creds.api_key,
            &creds.api_secret,
            pb::GetBusinessSystemRequest { id: other.system.id.clone() },
        ))
        .await
        .expect_err("other");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_during_the_overlap() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let creds = app.register_business("rotating", 0).await;
    let rotated = app
        .business()
        .rotate_business_secrets(
            app.platform(pb::RotateBusinessSecretsRequest { id: creds.system.id.clone(), overlap_seconds: 3600 }),
        )
        .await
        .expect("rotate")
        .into_inner();
    assert_ne!(rotated.signing_secret, creds.signing_secret);
    // The old api secret no longer authenticates; the new one does.
    let err = app
        .tasks()
        .list_tasks(as_business(&creds.api_key, &creds.api_secret, pb::ListTasksRequest::default()))
        .await
        .expect_err("old secret");
    assert_eq!(err.code(), Code::Unauthenticated);
    let fresh = BusinessCreds { api_secret: rotated.api_secret.clone(), ..creds };
    let task = app.create(&fresh, app.http_spec("rot-1", &sink.url("/ok"), "{}")).await;
    app.wait_status(&task.id, TaskStatus::Succeeded).await;
    let got = sink.received().remove(0);
    let secret_of = |whsec: &str| task_service::delivery::SigningSecret::parse_whsec(whsec).expect("whsec");
    let new = secret_of(&rotated.signing_secret);
    let old = secret_of(&fresh.signing_secret);
    let ts: i64 = got.timestamp.parse().expect("ts");
    assert_eq!(got.signature.split(' ').count(), 2, "two signatures during the overlap");
    assert!(task_service::delivery::verify(&new, &got.webhook_id, ts, &got.body, &got.signature));
    assert!(task_service::delivery::verify(&old, &got.webhook_id, ts, &got.body, &got.signature));

    // After the overlap only the new secret signs.
    app.advance(chrono::Duration::seconds(3601));
    let task = app.create(&fresh, app.http_spec("rot-2", &sink.url("/ok"), "{}")).await;
    app.wait_status(&task.id, TaskStatus::Succeeded).await;
    let got = sink.received().pop().expect("second");
    assert_eq!(got.signature.split(' ').count(), 1);
}

#[tokio::test]
async fn a_disabled_system_cannot_call() {
    let app = spawn_app().await;
    let creds = app.register_business("off", 0).await;
    let updated = app
        .business()
        .update_business_system(app.platform(pb::UpdateBusinessSystemRequest {
            id: creds.system.id.clone(),
            status: BusinessStatus::Disabled as i32,
            ..Default::default()
        }))
        .await
        .expect("disable")
        .into_inner();
    assert_eq!(updated.status, BusinessStatus::Disabled as i32);
    let err = app
        .tasks()
        .list_tasks(as_business(&creds.api_key, &creds.api_secret, pb::ListTasksRequest::default()))
        .await
        .expect_err("disabled");
    assert_eq!(err.code(), Code::PermissionDenied);
}
