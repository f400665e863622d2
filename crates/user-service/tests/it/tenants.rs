//! Tenants: creation seeds system roles; isolation between tenants.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{assert_code, authed, spawn_app};

#[tokio::test]
async fn new_tenant_has_the_four_system_roles() {
    let app = spawn_app().await;
    let (_, _, owner) = app.tenant_with_user("acme", "olivia", "owner").await;
    let roles =
        app.roles().list_roles(authed(&owner, pb::ListRolesRequest::default())).await.unwrap().into_inner().roles;
    let mut names: Vec<_> = roles.iter().map(|r| r.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["admin", "operator", "owner", "viewer"]);
    assert!(roles.iter().all(|r| r.is_system));
}

#[tokio::test]
async fn duplicate_tenant_code_already_exists() {
    let app = spawn_app().await;
    app.create_tenant("acme", 100).await;
    let r = app
        .tenants()
        .create_tenant(authed(
            &app.admin_token,
            pb::CreateTenantRequest { tenant_code: "acme".into(), name: "Again".into(), ..Default::default() },
        ))
        .await;
    assert_code(r, Code::AlreadyExists);
}

#[tokio::test]
async fn tenant_admins_cannot_see_or_touch_another_tenant() {
    let app = spawn_app().await;
    let (a, _, admin_a) = app.tenant_with_user("tenant-a", "anna", "admin").await;
    let (b, bob, _) = app.tenant_with_user("tenant-b", "bob", "admin").await;
    // Another tenant's user reads as absent, not as forbidden.
    assert_code(
        app.users().get_user(authed(&admin_a, pb::GetUserRequest { user_id: bob.id.clone() })).await,
        Code::NotFound,
    );
    assert_code(
        app.users()
            .update_user(authed(
                &admin_a,
                pb::UpdateUserRequest { user_id: bob.id.clone(), display_name: Some("x".into()), ..Default::default() },
            ))
            .await,
        Code::NotFound,
    );
    assert_code(
        app.users().delete_user(authed(&admin_a, pb::DeleteUserRequest { user_id: bob.id.clone() })).await,
        Code::NotFound,
    );
    // Naming another tenant explicitly is denied.
    assert_code(
        app.users()
            .list_users(authed(&admin_a, pb::ListUsersRequest { tenant_id: b.id.clone(), ..Default::default() }))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        app.tenants().get_tenant(authed(&admin_a, pb::GetTenantRequest { tenant_id: b.id.clone() })).await,
        Code::PermissionDenied,
    );
    assert_code(
        app.users()
            .create_user(authed(
                &admin_a,
                pb::CreateUserRequest {
                    tenant_id: b.id.clone(),
                    username: "mole".into(),
                    display_name: "m".into(),
                    password: "Correct-Horse-9".into(),
                    ..Default::default()
                },
            ))
            .await,
        Code::PermissionDenied,
    );
    // Listing shows only the caller's tenant.
    let users =
        app.users().list_users(authed(&admin_a, pb::ListUsersRequest::default())).await.unwrap().into_inner().users;
    assert!(users.iter().all(|u| u.tenant_id == a.id));
    // A platform super-admin crosses tenants.
    let seen =
        app.users().get_user(authed(&app.admin_token, pb::GetUserRequest { user_id: bob.id.clone() })).await.unwrap();
    assert_eq!(seen.into_inner().tenant_id, b.id);
    // Tenant admins can't create tenants or change their own quotas.
    assert_code(
        app.tenants()
            .create_tenant(authed(
                &admin_a,
                pb::CreateTenantRequest { tenant_code: "evil".into(), name: "Evil".into(), ..Default::default() },
            ))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        app.tenants()
            .update_tenant(authed(
                &admin_a,
                pb::UpdateTenantRequest { max_daily_messages: Some(1_000_000), ..Default::default() },
            ))
            .await,
        Code::PermissionDenied,
    );
}

#[tokio::test]
async fn deleted_tenant_is_gone_for_everyone() {
    let app = spawn_app().await;
    let (t, _, _) = app.tenant_with_user("acme", "alice", "viewer").await;
    app.tenants()
        .delete_tenant(authed(&app.admin_token, pb::DeleteTenantRequest { tenant_id: t.id.clone() }))
        .await
        .unwrap();
    assert_code(
        app.tenants().get_tenant(authed(&app.admin_token, pb::GetTenantRequest { tenant_id: t.id })).await,
        Code::NotFound,
    );
    assert_code(app.login("acme", "alice", crate::helpers::PASSWORD).await, Code::Unauthenticated);
}
