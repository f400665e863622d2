//! Faults outside the service: a Redis that is down must never make an
//! answer wrong — reads and quotas fall back to the database.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{PASSWORD, assert_code, authed, spawn_app_with};

#[tokio::test]
async fn redis_down_falls_back_to_the_database() {
    // Nothing listens on port 1: every Redis call fails at once.
    let app = spawn_app_with(|s| s.cache.redis_url = Some("redis://127.0.0.1:1".into())).await;
    let (_, alice, admin) = app.tenant_with_user("acme", "alice", "admin").await;
    let before = app
        .users()
        .get_user(authed(&admin, pb::GetUserRequest { user_id: alice.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(before.display_name, "alice");
    app.users()
        .update_user(authed(
            &admin,
            pb::UpdateUserRequest {
                user_id: alice.id.clone(),
                display_name: Some("Alice A.".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let after = app
        .users()
        .get_user(authed(&admin, pb::GetUserRequest { user_id: alice.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.display_name, "Alice A.", "no stale read while Redis is down");

    // Logout still takes effect at once.
    let session = app.login("acme", "alice", PASSWORD).await.unwrap().access_token;
    app.auth().logout(authed(&session, pb::LogoutRequest {})).await.unwrap();
    assert_code(app.auth().who_am_i(authed(&session, pb::WhoAmIRequest {})).await, Code::Unauthenticated);

    // The quota falls back to the database counter and still never over-grants.
    let tenant = app.create_tenant("small", 5).await;
    let svc = app.service_token();
    let mut granted = 0;
    for _ in 0..7 {
        let r = app
            .quota()
            .reserve_daily_messages(authed(
                &svc,
                pb::ReserveDailyMessagesRequest { tenant_id: tenant.id.clone(), count: 1 },
            ))
            .await;
        match r {
            Ok(_) => granted += 1,
            Err(s) => assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}"),
        }
    }
    assert_eq!(granted, 5);
}
