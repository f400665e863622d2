//! Less travelled paths: unique names (and the quota slot a refused create
//! must not keep), concurrent logins of one account, Recover, deleting a
//! logged-in account, and platform callers reaching any tenant.

use tonic::Code;
use wework_client::NotifyType;
use wework_client::protocol::ClientState;
use wework_proto::account::{self as pb, AccountStatus::*};
use wework_sim::Faults;

use crate::helpers::*;

#[tokio::test]
async fn names_are_unique_per_tenant_and_a_refused_create_keeps_no_slot() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 2).await;
    let first = app.create(&t, "Same").await;
    let dup = pb::CreateAccountRequest { account_name: "Same".into(), ..Default::default() };
    assert_code(app.accounts().create_account(authed(&t.token, dup)).await, Code::AlreadyExists);
    let second = app.create(&t, "Other").await;
    let rename =
        pb::UpdateAccountRequest { id: second.id.clone(), account_name: Some("Same".into()), ..Default::default() };
    assert_code(app.accounts().update_account(authed(&t.token, rename)).await, Code::AlreadyExists);
    assert_eq!(app.get(&t, &second.id).await.account_name, "Other");
    // Another tenant may use the name.
    let u = app.tenant("umbrella", 2).await;
    app.create(&u, "Same").await;
    assert_eq!(app.get(&t, &first.id).await.account_name, "Same");

    let dup_instance = pb::RegisterInstanceRequest {
        name: app.instance.name.clone(),
        api_url: "http://10.0.0.9:7070".into(),
        token: "another-token".into(),
        ..Default::default()
    };
    assert_code(app.instances().register_instance(authed(&app.admin, dup_instance)).await, Code::AlreadyExists);
}

#[tokio::test]
async fn concurrent_logins_of_one_account_use_one_client_and_one_slot() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let mut guids = Vec::new();
    for i in 0..3 {
        let account = app.create(&t, &format!("Racer {i}")).await;
        let logins = (0..4).map(|_| app.start_login(&t, &account.id));
        let results = futures::future::join_all(logins).await;
        assert!(results.iter().any(Result::is_ok), "{results:?}");
        let stored = app.get(&t, &account.id).await;
        assert_eq!(status(stored.status), WaitingScan);
        guids.push(stored.guid);
    }
    let slots = app.get_instance(&app.instance.id).await.account_count;
    let mut clients = app.sim.guids();
    clients.sort();
    guids.sort();
    assert_eq!((slots, clients), (3, guids), "one slot and one client per account");
}

#[tokio::test]
async fn recover_brings_a_failed_account_back() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Phoenix").await;
    app.sim.kick(&guid, wework_sim::KickReason::OtherDevice).await.expect("kick");
    app.forward(&guid).await;
    app.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let req = pb::RecoverRequest { id: account.id.clone() };
    let failed = app.accounts().recover(authed(&t.token, req)).await.expect("recover (failing)").into_inner();
    assert_eq!((status(failed.status), failed.recover_attempts), (Recovering, 1));
    app.sim.set_faults(Faults::default());
    app.advance_secs(10);
    assert_eq!(app.tick().await.restored, 1);
    let back = app.get(&t, &account.id).await;
    assert_eq!((status(back.status), back.recover_attempts, back.error_message.as_str()), (Online, 0, ""));
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Online));
    let changes = app.transitions(&t, &account.id).await;
    assert!(changes.contains(&(Offline, Recovering, "user".to_owned())), "{changes:?}");
}

#[tokio::test]
async fn deleting_a_logged_in_account_logs_it_out_and_frees_its_slot() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Doomed").await;
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 1);
    app.accounts()
        .delete_account(authed(&t.token, pb::DeleteAccountRequest { id: account.id.clone() }))
        .await
        .expect("delete");
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Offline));
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 0);
    let beat = pb::ReportEventRequest { guid, notify_type: NotifyType::Heartbeat.code(), ..Default::default() };
    assert_code(app.accounts().report_event(app.as_service(beat)).await, Code::NotFound);
}

#[tokio::test]
async fn the_platform_admin_reaches_every_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("alpha", 10).await;
    let b = app.tenant("beta", 10).await;
    let theirs = app.create(&a, "Alpha").await;
    app.create(&b, "Beta").await;
    let got = app.accounts().get_account(authed(&app.admin, pb::GetAccountRequest { id: theirs.id.clone() })).await;
    assert_eq!(got.expect("admin get").into_inner().tenant_id, a.id);
    let req = pb::ListAccountsRequest { tenant_id: b.id.clone(), ..Default::default() };
    let listed = app.accounts().list_accounts(authed(&app.admin, req)).await.expect("admin list").into_inner();
    assert_eq!(listed.accounts.iter().map(|x| x.account_name.as_str()).collect::<Vec<_>>(), vec!["Beta"]);
}

#[tokio::test]
async fn a_duplicate_delivered_concurrently_is_applied_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Dup").await;
    let data = serde_json::json!({"reason": "expired"});
    let kind = NotifyType::SessionTimeout.code();
    let answers = futures::future::join_all((0..4).map(|_| app.report_as("cb-1", &guid, kind, &data))).await;
    assert_eq!(answers.iter().filter(|a| a.applied).count(), 1, "{answers:?}");
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
}

#[tokio::test]
async fn text_search_treats_wildcards_literally() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    app.create(&t, "100% Sales").await;
    app.create(&t, "Plain_name").await;
    app.create(&t, "Other").await;
    for (text, expected) in [("%", vec!["100% Sales"]), ("_", vec!["Plain_name"]), ("SALES", vec!["100% Sales"])] {
        let req = pb::ListAccountsRequest { text: text.into(), ..Default::default() };
        let listed = app.accounts().list_accounts(authed(&t.token, req)).await.expect("list").into_inner();
        let names: Vec<_> = listed.accounts.into_iter().map(|a| a.account_name).collect();
        assert_eq!(names, expected, "search {text:?}");
    }
}
