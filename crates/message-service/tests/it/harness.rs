//! The harness itself: an account logged in on the simulator is a send
//! target the message service can resolve, with its tenant and instance.

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_online_account_resolves_to_its_instance() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account_id, guid) = app.online_account(&t, "sales-1").await;
    let target = app.state.targets.get(&account_id).await.expect("send target");
    assert_eq!(target.tenant_id, t.id);
    assert!(target.online);
    assert_eq!(target.guid, guid);
    assert_eq!(target.api_url, app.sim.base_url());
    assert_eq!(target.token, app.sim.token());

    app.take_offline(&guid).await;
    let target = app.state.targets.get(&account_id).await.expect("send target");
    assert!(!target.online, "{target:?}");
    let guid = app.bring_online(&t, &account_id).await;
    let target = app.state.targets.get(&account_id).await.expect("send target");
    assert!(target.online);
    assert_eq!(target.guid, guid);
}

#[tokio::test]
async fn the_daily_quota_is_exact_under_concurrency() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 5).await;
    let calls = (0..20).map(|_| {
        let quota = app.state.quota.clone();
        let tenant = t.id.clone();
        tokio::spawn(async move { quota.reserve(&tenant, 1).await.is_ok() })
    });
    let granted = futures::future::join_all(calls).await.into_iter().filter(|r| *r.as_ref().expect("join")).count();
    assert_eq!(granted, 5);
    let refused = app.state.quota.reserve(&t.id, 1).await.expect_err("spent");
    assert_eq!(tonic::Status::from(refused).code(), tonic::Code::ResourceExhausted);
}

#[tokio::test]
async fn a_burst_larger_than_one_statement_is_written_whole() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 100).await;
    let (account_id, _) = app.online_account(&t, "sales-1").await;
    // 2,500 rows × 33 columns would pass SQLite's and MySQL's bind limits in one INSERT.
    let ids = app.insert_texts(&t, &account_id, 2_500).await;
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 2_500);
    for id in [&ids[0], &ids[1_249], &ids[2_499]] {
        assert_eq!(app.stored(id).await.status, "pending");
    }
}
