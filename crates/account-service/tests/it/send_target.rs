//! `ResolveSendTarget`: the message service learns where and as whom to
//! send. Only services may ask (the answer carries the instance token).

use tonic::Code;
use wework_proto::account::{AccountStatus, ResolveSendTargetRequest};

use crate::helpers::{assert_code, authed, spawn_app, violated_fields};

#[tokio::test]
async fn a_service_gets_the_instance_and_status_of_an_account() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 5).await;
    let (account, guid) = app.online_account(&t, "sales-1").await;
    let req = ResolveSendTargetRequest { account_id: account.id.clone(), ..Default::default() };
    let target = app.accounts().resolve_send_target(app.as_service(req)).await.expect("resolve").into_inner();
    assert_eq!(target.tenant_id, t.id);
    assert_eq!(target.status, AccountStatus::Online as i32);
    assert_eq!(target.guid, guid);
    assert_eq!(target.instance_id, app.instance.id);
    assert_eq!(target.instance_api_url, app.sim.base_url());
    assert_eq!(target.instance_token, app.sim.token());
    // The same, found by the client's guid (how the callback service asks).
    let req = ResolveSendTargetRequest { guid: guid.clone(), ..Default::default() };
    let by_guid = app.accounts().resolve_send_target(app.as_service(req)).await.expect("by guid").into_inner();
    assert_eq!(by_guid, target);

    // Not before a login: no guid, no instance.
    let fresh = app.create(&t, "sales-2").await;
    let req = ResolveSendTargetRequest { account_id: fresh.id.clone(), ..Default::default() };
    let target = app.accounts().resolve_send_target(app.as_service(req)).await.expect("resolve").into_inner();
    assert_eq!(target.status, AccountStatus::Created as i32);
    assert!(target.guid.is_empty() && target.instance_token.is_empty());
}

#[tokio::test]
async fn tenants_cannot_resolve_and_bad_ids_are_named() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 5).await;
    let account = app.create(&t, "sales-1").await;
    let req = ResolveSendTargetRequest { account_id: account.id.clone(), ..Default::default() };
    assert_code(app.accounts().resolve_send_target(authed(&t.token, req)).await, Code::PermissionDenied);
    let req =
        ResolveSendTargetRequest { account_id: "0190a0a0-0000-7000-8000-000000000000".into(), ..Default::default() };
    assert_code(app.accounts().resolve_send_target(app.as_service(req)).await, Code::NotFound);
    let req = ResolveSendTargetRequest { account_id: String::new(), ..Default::default() };
    let status = assert_code(app.accounts().resolve_send_target(app.as_service(req)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["account_id"]);
    let both = ResolveSendTargetRequest { account_id: account.id.clone(), guid: "g-1".into() };
    assert_code(app.accounts().resolve_send_target(app.as_service(both)).await, Code::InvalidArgument);
    let req = ResolveSendTargetRequest { guid: "no-such-guid".into(), ..Default::default() };
    assert_code(app.accounts().resolve_send_target(app.as_service(req)).await, Code::NotFound);
}
