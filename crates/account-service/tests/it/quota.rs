//! The tenant's `max_accounts` (set in the user service) bounds its
//! accounts exactly, also under concurrent creates; deleting frees a slot.

use tonic::Code;
use wework_proto::account as pb;

use crate::helpers::*;

#[tokio::test]
async fn the_tenant_limit_is_enforced_and_freed_by_deletes() {
    let app = spawn_app().await;
    let t = app.tenant("small", 2).await;
    let a = app.create(&t, "One").await;
    app.create(&t, "Two").await;
    let req = pb::CreateAccountRequest { account_name: "Three".into(), ..Default::default() };
    let err = assert_code(app.accounts().create_account(authed(&t.token, req.clone())).await, Code::ResourceExhausted);
    assert!(err.message().contains('2'), "{err:?}");

    app.accounts()
        .delete_account(authed(&t.token, pb::DeleteAccountRequest { id: a.id.clone() }))
        .await
        .expect("delete");
    assert_code(app.accounts().get_account(authed(&t.token, pb::GetAccountRequest { id: a.id })).await, Code::NotFound);
    app.accounts().create_account(authed(&t.token, req.clone())).await.expect("a slot was freed");
    assert_code(app.accounts().create_account(authed(&t.token, req)).await, Code::ResourceExhausted);

    // Another tenant's limit is its own.
    let other = app.tenant("other", 1).await;
    app.create(&other, "Theirs").await;
}

#[tokio::test]
async fn concurrent_creates_never_overshoot_the_limit() {
    let app = spawn_app().await;
    let t = app.tenant("racy", 3).await;
    let creates = (0..10).map(|i| {
        let mut client = app.accounts();
        let req = pb::CreateAccountRequest { account_name: format!("Racer {i}"), ..Default::default() };
        let req = authed(&t.token, req);
        async move { client.create_account(req).await }
    });
    let results = futures::future::join_all(creates).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let codes: Vec<_> = results.iter().filter_map(|r| r.as_ref().err().map(tonic::Status::code)).collect();
    assert_eq!(ok, 3, "{codes:?}");
    assert!(codes.iter().all(|c| *c == Code::ResourceExhausted), "{codes:?}");
    let page = Some(wework_proto::common::PageRequest { page_size: 100, page_token: String::new() });
    let listed =
        app.accounts().list_accounts(authed(&t.token, pb::ListAccountsRequest { page, ..Default::default() })).await;
    assert_eq!(listed.expect("list").into_inner().accounts.len(), 3);
}

#[tokio::test]
async fn a_suspended_tenant_cannot_add_accounts() {
    use wework_proto::user::{SuspendTenantRequest, tenant_service_client::TenantServiceClient};
    let app = spawn_app().await;
    let t = app.tenant("paused", 5).await;
    let suspend = SuspendTenantRequest { tenant_id: t.id.clone(), reason: "unpaid".into() };
    TenantServiceClient::new(app.users.channel.clone())
        .suspend_tenant(authed(&app.admin, suspend))
        .await
        .expect("suspend");
    let req = pb::CreateAccountRequest { account_name: "Late".into(), ..Default::default() };
    assert_code(app.accounts().create_account(authed(&t.token, req)).await, Code::FailedPrecondition);
}
