//! Audit: management calls of the task center land in the real user service's
//! trail — platform-wide ones in the platform tenant's, a tenant's endpoint in
//! that tenant's — with the caller's request id and no secret; task creates
//! are not audited.

use std::sync::Arc;

use secrecy::SecretString;
use wework_proto::task as pb;
use wework_proto::user::{self as upb};

use crate::helpers::*;
use crate::user_service::UserService;

/// The task center's rows in `trail`, as (operation, resource id).
fn ours(trail: &[upb::AuditLog]) -> Vec<(String, String)> {
    let mut rows: Vec<_> = trail
        .iter()
        .filter(|r| r.service == "task-service")
        .map(|r| (r.operation.clone(), r.resource_id.clone()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn management_calls_are_audited_in_the_user_service_without_secrets() {
    let secret = SecretString::from(wework_kit::crypto::random_token(32));
    let users = Arc::new(UserService::spawn(&secret).await);
    let url = users.grpc_url.clone();
    let app = spawn_app_with(move |s| {
        s.auth.user_service_url = url;
        s.auth.internal_secret = Some(secret);
    })
    .await;

    let billing = app.register_business("billing", 0).await;
    let rotated = app
        .business()
        .rotate_business_secrets(
            app.platform(pb::RotateBusinessSecretsRequest { id: billing.system.id.clone(), overlap_seconds: 60 }),
        )
        .await
        .expect("rotate")
        .into_inner();
    let own = app
        .endpoints()
        .upsert_endpoint(as_business(
            &billing.api_key,
            &rotated.api_secret,
            pb::UpsertEndpointRequest {
                url: "https://hooks.example.com/in?token=q5ecret".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("business endpoint")
        .into_inner();
    let tenant = uuid::Uuid::now_v7().to_string();
    let theirs = app
        .endpoints()
        .upsert_endpoint(app.tenant(
            &tenant,
            &["endpoint:write"],
            pb::UpsertEndpointRequest { url: "https://acme.example.com/hook".into(), ..Default::default() },
        ))
        .await
        .expect("tenant endpoint")
        .into_inner();
    let mut later = app.http_spec("audit-1", "https://example.com/cb", "{}");
    later.scheduled_at = Some(prost_types::Timestamp { seconds: app.now().timestamp() + 3600, nanos: 0 });
    let task = app
        .tasks()
        .create_task(as_business(&billing.api_key, &rotated.api_secret, pb::CreateTaskRequest { task: Some(later) }))
        .await
        .expect("create task")
        .into_inner()
        .task
        .expect("task");
    app.tasks()
        .cancel_task(as_business(&billing.api_key, &rotated.api_secret, pb::CancelTaskRequest { id: task.id.clone() }))
        .await
        .expect("cancel");

    let admin = users.admin_token().await;
    let (system_id, own_id) = (billing.system.id.clone(), own.endpoint.as_ref().expect("endpoint").id.clone());
    let expected = vec![
        ("business_system.register".to_owned(), system_id.clone()),
        ("business_system.rotate_secrets".to_owned(), system_id),
        ("endpoint.create".to_owned(), own_id),
        ("task.cancel".to_owned(), task.id.clone()),
    ];
    let platform = eventually(DEADLINE, || async {
        let trail = users.trail(&admin, "").await;
        (ours(&trail) == expected).then_some(trail)
    })
    .await;
    let theirs_id = theirs.endpoint.as_ref().expect("endpoint").id.clone();
    let tenant_trail = eventually(DEADLINE, || async {
        let trail = users.trail(&admin, &tenant).await;
        (ours(&trail) == [("endpoint.create".to_owned(), theirs_id.clone())]).then_some(trail)
    })
    .await;
    // Everything queued has been sent: nothing else (no task.create) arrives.
    assert!(app.state.audit.flush(DEADLINE).await);
    assert_eq!(app.state.audit.dropped(), 0);
    assert_eq!(ours(&users.trail(&admin, "").await), expected);

    let register = platform.iter().find(|r| r.operation == "business_system.register").expect("register row");
    let shown = wework_kit::events::struct_to_json(register.new_value.as_ref().expect("new value"));
    assert_eq!(
        (shown["business_code"].as_str(), register.resource_type.as_str()),
        (Some("billing"), "business_system")
    );
    assert!(!register.request_id.is_empty(), "the caller's request id is kept");
    assert_eq!((register.principal_kind.as_str(), register.actor.as_str()), ("service", "service test-service"));
    let endpoint = platform.iter().find(|r| r.operation == "endpoint.create").expect("endpoint row");
    assert_eq!(endpoint.principal_kind, "business", "who acted is kept");
    assert_eq!(endpoint.actor, "business system billing");
    let shown = wework_kit::events::struct_to_json(endpoint.new_value.as_ref().expect("new value"));
    assert_eq!(shown["url"], "https://hooks.example.com/in");
    assert_eq!(tenant_trail.iter().find(|r| r.service == "task-service").map(|r| r.tenant_id.as_str()), Some(&*tenant));

    let everything = format!("{platform:?}{tenant_trail:?}");
    for secret in [
        "whsec_",
        "q5ecret",
        billing.api_secret.as_str(),
        billing.signing_secret.as_str(),
        rotated.api_secret.as_str(),
        rotated.signing_secret.as_str(),
        own.signing_secret.as_str(),
        theirs.signing_secret.as_str(),
    ] {
        assert!(!everything.contains(secret), "{secret:?} leaked into the audit trail");
    }
}
