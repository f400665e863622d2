//! Tenant webhooks live in the task center: a webhook change it cannot take
//! changes nothing here either.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{assert_code, authed, spawn_app_with};

/// A URL where nothing listens (the port was free a moment ago).
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_webhook_the_task_center_cannot_take_is_unavailable_and_not_stored() {
    let url = closed_port_url();
    let app = spawn_app_with(|s| s.integrations.task_service_url = Some(url)).await;
    let tenant = app.create_tenant("acme", 100).await;
    let hook = "https://hooks.example.com/wework";

    let update = |webhook_url: &str, name: &str| {
        authed(
            &app.admin_token,
            pb::UpdateTenantRequest {
                tenant_id: tenant.id.clone(),
                webhook_url: Some(webhook_url.to_owned()),
                name: Some(name.to_owned()),
                ..Default::default()
            },
        )
    };
    assert_code(app.tenants().update_tenant(update(hook, "Renamed")).await, Code::Unavailable);
    let get = pb::GetTenantRequest { tenant_id: tenant.id.clone() };
    let seen = app.tenants().get_tenant(authed(&app.admin_token, get.clone())).await.unwrap().into_inner();
    assert_eq!((seen.webhook_url.as_str(), seen.name.as_str()), (tenant.webhook_url.as_str(), tenant.name.as_str()));
    let audited = app
        .audit()
        .list_audit_logs(authed(
            &app.admin_token,
            pb::ListAuditLogsRequest {
                tenant_id: tenant.id.clone(),
                operation: "tenant.update".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(audited.is_empty(), "a rolled-back update leaves no audit row: {audited:?}");

    // Changes that leave the webhook alone never ask the task center.
    let renamed = app.tenants().update_tenant(update("", "Renamed")).await.unwrap().into_inner();
    assert_eq!((renamed.name.as_str(), renamed.webhook_url.as_str()), ("Renamed", ""));

    // Nor is a tenant created with a webhook the task center never heard of.
    let create = pb::CreateTenantRequest {
        tenant_code: "beta".into(),
        name: "Beta".into(),
        webhook_url: hook.into(),
        ..Default::default()
    };
    assert_code(app.tenants().create_tenant(authed(&app.admin_token, create)).await, Code::Unavailable);
    let listed = app
        .tenants()
        .list_tenants(authed(&app.admin_token, pb::ListTenantsRequest { query: "beta".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .tenants;
    assert!(listed.is_empty(), "{listed:?}");
}
