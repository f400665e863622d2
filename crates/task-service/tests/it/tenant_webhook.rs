//! The seed's `tenants.webhook_url` keeps working: setting it in the user
//! service upserts the tenant's endpoint here, and tenant events are then
//! delivered to it, signed with the endpoint's secret.

use wework_proto::task::{self as pb, EndpointStatus, TaskStatus};
use wework_proto::user::{self as upb, tenant_service_client::TenantServiceClient};

use crate::helpers::*;
use crate::sink::Sink;
use crate::user_service::UserService;

#[tokio::test]
async fn a_tenant_webhook_url_becomes_its_endpoint_and_receives_events() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let secret = app.state.settings.auth.internal_secret.clone().expect("secret");
    let users = UserService::spawn_with(&secret, Some(app.grpc_url.clone())).await;
    let admin = users.admin_token().await;
    let mut tenants = TenantServiceClient::new(users.channel.clone());
    let tenant = tenants
        .create_tenant(authed(
            &admin,
            upb::CreateTenantRequest {
                tenant_code: "hooked".into(),
                name: "Hooked Ltd".into(),
                max_accounts: 1,
                max_daily_messages: 10,
                webhook_url: sink.url("/v1"),
                ..Default::default()
            },
        ))
        .await
        .expect("create tenant")
        .into_inner();
    let owner = format!("tenant:{}", tenant.id);
    let endpoints = || async {
        app.endpoints()
            .list_endpoints(app.platform(pb::ListEndpointsRequest { owner: owner.clone(), ..Default::default() }))
            .await
            .expect("list")
            .into_inner()
            .endpoints
    };
    let created = endpoints().await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].url, sink.url("/v1"));

    // A new URL updates the same endpoint; events go there.
    tenants
        .update_tenant(authed(
            &admin,
            upb::UpdateTenantRequest {
                tenant_id: tenant.id.clone(),
                webhook_url: Some(sink.url("/v2")),
                ..Default::default()
            },
        ))
        .await
        .expect("update tenant");
    let updated = endpoints().await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].id, created[0].id);
    assert_eq!(updated[0].url, sink.url("/v2"));
    let published = app
        .tasks()
        .publish_event(app.platform(pb::PublishEventRequest {
            event: Some(wework_proto::common::Event {
                tenant_id: tenant.id.clone(),
                r#type: "tenant.updated".into(),
                ..Default::default()
            }),
        }))
        .await
        .expect("publish")
        .into_inner();
    app.wait_status(&published.task_ids[0], TaskStatus::Succeeded).await;
    assert_eq!(sink.count("/v2"), 1);

    // Clearing the URL disables the endpoint: no more deliveries.
    tenants
        .update_tenant(authed(
            &admin,
            upb::UpdateTenantRequest {
                tenant_id: tenant.id.clone(),
                webhook_url: Some(String::new()),
                ..Default::default()
            },
        ))
        .await
        .expect("clear webhook");
    assert_eq!(endpoints().await[0].status, EndpointStatus::Disabled as i32);
}

#[tokio::test]
async fn deleting_a_tenant_disables_its_webhook() {
    let app = spawn_app().await;
    let secret = app.state.settings.auth.internal_secret.clone().expect("secret");
    let users = UserService::spawn_with(&secret, Some(app.grpc_url.clone())).await;
    let admin = users.admin_token().await;
    let mut tenants = TenantServiceClient::new(users.channel.clone());
    let tenant = tenants
        .create_tenant(authed(
            &admin,
            upb::CreateTenantRequest {
                tenant_code: "leaving".into(),
                name: "Leaving Ltd".into(),
                max_accounts: 1,
                max_daily_messages: 10,
                webhook_url: "https://leaving.example.com/hook".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("create tenant")
        .into_inner();
    tenants
        .delete_tenant(authed(&admin, upb::DeleteTenantRequest { tenant_id: tenant.id.clone() }))
        .await
        .expect("delete tenant");
    let endpoints = app
        .endpoints()
        .list_endpoints(
            app.platform(pb::ListEndpointsRequest { owner: format!("tenant:{}", tenant.id), ..Default::default() }),
        )
        .await
        .expect("list")
        .into_inner()
        .endpoints;
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].status, EndpointStatus::Disabled as i32);
}
