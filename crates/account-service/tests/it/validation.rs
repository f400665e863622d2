//! Bad input names its fields and never echoes secrets; instance management
//! is the platform's, and events come only from services.

use tonic::Code;
use wework_proto::account as pb;

use crate::helpers::*;

#[tokio::test]
async fn account_fields_are_checked_together() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let req = pb::CreateAccountRequest {
        account_name: "  ".into(),
        phone: "call me".into(),
        email: "not-an-email".into(),
        tags: vec![String::new()],
        ..Default::default()
    };
    let err = assert_code(app.accounts().create_account(authed(&t.token, req)).await, Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, vec!["account_name", "email", "phone", "tags[0]"]);

    let account = app.create(&t, "Valid").await;
    let req = pb::UpdateAccountRequest { id: account.id.clone(), email: Some("bad".into()), ..Default::default() };
    let err = assert_code(app.accounts().update_account(authed(&t.token, req)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["email"]);
    assert_eq!(app.get(&t, &account.id).await.email, "");
}

#[tokio::test]
async fn instance_fields_are_checked_without_echoing_the_token() {
    let app = spawn_app().await;
    let secret = "tok en-Secret-Value";
    let req = pb::RegisterInstanceRequest {
        name: "sim-2".into(),
        api_url: "ftp://example.com".into(),
        token: secret.into(),
        ..Default::default()
    };
    let err = assert_code(app.instances().register_instance(authed(&app.admin, req)).await, Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, vec!["api_url", "token"]);
    assert!(!err.message().contains("Secret-Value"), "{err:?}");

    let creds = pb::RegisterInstanceRequest {
        name: "sim-3".into(),
        api_url: "http://user:pw-Secret@example.com".into(),
        token: "short".into(),
        ..Default::default()
    };
    let err = assert_code(app.instances().register_instance(authed(&app.admin, creds)).await, Code::InvalidArgument);
    assert!(!err.message().contains("pw-Secret") && !err.message().contains("short"), "{err:?}");
}

#[tokio::test]
async fn instances_are_the_platforms_and_events_the_services() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let register = pb::RegisterInstanceRequest {
        name: "mine".into(),
        api_url: app.sim.base_url(),
        token: app.sim.token().into(),
        ..Default::default()
    };
    let mut c = app.instances();
    assert_code(c.register_instance(authed(&t.token, register)).await, Code::PermissionDenied);
    let get = pb::GetInstanceRequest { id: app.instance.id.clone() };
    assert_code(c.get_instance(authed(&t.token, get)).await, Code::PermissionDenied);
    assert_code(c.list_instances(authed(&t.token, pb::ListInstancesRequest::default())).await, Code::PermissionDenied);
    let beat = pb::InstanceHeartbeatRequest { id: app.instance.id.clone(), ..Default::default() };
    assert_code(c.instance_heartbeat(authed(&t.token, beat)).await, Code::PermissionDenied);
    let update = pb::UpdateInstanceRequest { id: app.instance.id.clone(), max_accounts: Some(1), ..Default::default() };
    assert_code(c.update_instance(authed(&t.token, update)).await, Code::PermissionDenied);

    let (_, guid) = app.online_account(&t, "Online").await;
    let event = pb::ReportEventRequest { guid, notify_type: 11007, data_json: "{}".into(), ..Default::default() };
    assert_code(app.accounts().report_event(authed(&t.token, event.clone())).await, Code::PermissionDenied);
    assert_code(app.accounts().report_event(authed(&app.admin, event)).await, Code::PermissionDenied);
    assert_code(
        app.accounts().report_event(tonic::Request::new(pb::ReportEventRequest::default())).await,
        Code::Unauthenticated,
    );
}
