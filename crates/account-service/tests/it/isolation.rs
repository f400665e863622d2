//! Tenants never see each other's accounts (another tenant's account is
//! simply not found), and ListAccounts filters and pages.

use std::collections::HashSet;

use tonic::Code;
use wework_proto::account::{self as pb, AccountStatus};
use wework_proto::common::PageRequest;

use crate::helpers::*;

#[tokio::test]
async fn another_tenants_account_is_not_found() {
    let app = spawn_app().await;
    let a = app.tenant("alpha", 10).await;
    let b = app.tenant("beta", 10).await;
    let theirs = app.create(&a, "Alpha 1").await;
    let mine = app.create(&b, "Beta 1").await;
    let id = || theirs.id.clone();
    let mut c = app.accounts();
    assert_code(c.get_account(authed(&b.token, pb::GetAccountRequest { id: id() })).await, Code::NotFound);
    let update = pb::UpdateAccountRequest { id: id(), account_name: Some("mine now".into()), ..Default::default() };
    assert_code(c.update_account(authed(&b.token, update)).await, Code::NotFound);
    assert_code(c.delete_account(authed(&b.token, pb::DeleteAccountRequest { id: id() })).await, Code::NotFound);
    assert_code(app.start_login(&b, &id()).await, Code::NotFound);
    let history = pb::ListStatusHistoryRequest { account_id: id(), page: None };
    assert_code(c.list_status_history(authed(&b.token, history)).await, Code::NotFound);
    let untouched = app.get(&a, &theirs.id).await;
    assert_eq!((untouched.account_name.as_str(), status(untouched.status)), ("Alpha 1", AccountStatus::Created));

    let listed = c.list_accounts(authed(&b.token, pb::ListAccountsRequest::default())).await.expect("list");
    let ids: Vec<_> = listed.into_inner().accounts.into_iter().map(|x| x.id).collect();
    assert_eq!(ids, vec![mine.id]);
    let other_tenant = pb::ListAccountsRequest { tenant_id: a.id.clone(), ..Default::default() };
    assert_code(c.list_accounts(authed(&b.token, other_tenant)).await, Code::PermissionDenied);
}

async fn list(app: &TestApp, t: &Tenant, mut req: pb::ListAccountsRequest) -> Vec<pb::Account> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        req.page = Some(PageRequest { page_size: 3, page_token: token.clone() });
        let resp = app.accounts().list_accounts(authed(&t.token, req.clone())).await.expect("list").into_inner();
        assert!(resp.accounts.len() <= 3);
        out.extend(resp.accounts);
        token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return out;
        }
    }
}

#[tokio::test]
async fn lists_filter_and_page() {
    let app = spawn_app().await;
    let t = app.tenant("alpha", 20).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.create(&t, &format!("{} {i}", if i % 2 == 0 { "Sales" } else { "Support" })).await.id);
    }
    let all = list(&app, &t, pb::ListAccountsRequest::default()).await;
    assert_eq!(all.len(), 7);
    assert_eq!(all.iter().map(|a| a.id.clone()).collect::<HashSet<_>>(), created.iter().cloned().collect());

    let sales = list(&app, &t, pb::ListAccountsRequest { text: "sales".into(), ..Default::default() }).await;
    assert_eq!(sales.len(), 4);
    assert!(sales.iter().all(|a| a.account_name.starts_with("Sales")));

    let login = app.start_login(&t, &created[0]).await.expect("login").account.expect("account");
    let by_status = pb::ListAccountsRequest { status: AccountStatus::WaitingScan as i32, ..Default::default() };
    assert_eq!(list(&app, &t, by_status).await.into_iter().map(|a| a.id).collect::<Vec<_>>(), vec![login.id.clone()]);
    let by_instance = pb::ListAccountsRequest { instance_id: app.instance.id.clone(), ..Default::default() };
    assert_eq!(list(&app, &t, by_instance).await.len(), 1);
    let created_only = pb::ListAccountsRequest { status: AccountStatus::Created as i32, ..Default::default() };
    assert_eq!(list(&app, &t, created_only).await.len(), 6);
}
