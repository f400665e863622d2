//! Daily message quota: atomic under concurrency, all or nothing.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{assert_code, authed, spawn_app};

#[tokio::test]
async fn concurrent_reservations_never_over_grant() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme", 100).await;
    let svc = app.service_token();
    let mut tasks = Vec::new();
    for _ in 0..150 {
        let mut client = app.quota();
        let req = authed(&svc, pb::ReserveDailyMessagesRequest { tenant_id: tenant.id.clone(), count: 1 });
        tasks.push(tokio::spawn(async move { client.reserve_daily_messages(req).await }));
    }
    let mut granted = 0;
    let mut exhausted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert!(r.into_inner().granted);
                granted += 1;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                exhausted += 1;
            }
        }
    }
    assert_eq!(granted, 100);
    assert_eq!(exhausted, 50);
    let usage = app
        .quota()
        .get_quota_usage(authed(&svc, pb::GetQuotaUsageRequest { tenant_id: tenant.id }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usage.daily_messages_used, 100);
}

#[tokio::test]
async fn reservation_is_all_or_nothing_and_release_gives_back() {
    let app = spawn_app().await;
    let tenant = app.create_tenant("acme", 10).await;
    let svc = app.service_token();
    let reserve = |n: i32| {
        let mut c = app.quota();
        let req = authed(&svc, pb::ReserveDailyMessagesRequest { tenant_id: tenant.id.clone(), count: n });
        async move { c.reserve_daily_messages(req).await }
    };
    let r = reserve(8).await.unwrap().into_inner();
    assert_eq!((r.used, r.remaining), (8, 2));
    let s = assert_code(reserve(3).await, Code::ResourceExhausted);
    assert_eq!(s.metadata().get("x-quota-remaining").unwrap(), "2");
    app.quota()
        .release_daily_messages(authed(
            &svc,
            pb::ReleaseDailyMessagesRequest { tenant_id: tenant.id.clone(), count: 5 },
        ))
        .await
        .unwrap();
    reserve(7).await.expect("released capacity is reusable");
    // A new UTC day starts from zero.
    app.clock.advance(chrono::Duration::days(1));
    let svc = app.service_token();
    let mut c = app.quota();
    c.reserve_daily_messages(authed(&svc, pb::ReserveDailyMessagesRequest { tenant_id: tenant.id.clone(), count: 10 }))
        .await
        .expect("new day");
    let zero = c
        .reserve_daily_messages(authed(
            &svc,
            pb::ReserveDailyMessagesRequest { tenant_id: tenant.id.clone(), count: 0 },
        ))
        .await;
    assert_code(zero, Code::InvalidArgument);
}

#[tokio::test]
async fn account_quota_and_tenant_users_cannot_reserve() {
    let app = spawn_app().await;
    let (t, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let svc = app.service_token();
    let ok = app
        .quota()
        .check_account_quota(authed(
            &svc,
            pb::CheckAccountQuotaRequest { tenant_id: t.id.clone(), current_accounts: 4 },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.allowed);
    let full = app
        .quota()
        .check_account_quota(authed(
            &svc,
            pb::CheckAccountQuotaRequest { tenant_id: t.id.clone(), current_accounts: 5 },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!full.allowed);
    assert_code(
        app.quota()
            .reserve_daily_messages(authed(&admin, pb::ReserveDailyMessagesRequest { tenant_id: t.id, count: 1 }))
            .await,
        Code::PermissionDenied,
    );
}
