//! Roles and permissions: denial per role, custom roles, no escalation.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{PASSWORD, assert_code, authed, spawn_app};

#[tokio::test]
async fn each_system_role_gets_exactly_its_permissions() {
    let app = spawn_app().await;
    let (t, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    app.create_user(&admin, &t.id, "vic", "viewer").await;
    app.create_user(&admin, &t.id, "otto", "operator").await;
    let viewer = app.login("acme", "vic", PASSWORD).await.unwrap().access_token;
    let operator = app.login("acme", "otto", PASSWORD).await.unwrap().access_token;
    let new_user = |name: &str| pb::CreateUserRequest {
        username: name.into(),
        display_name: name.into(),
        password: PASSWORD.into(),
        ..Default::default()
    };
    assert_code(app.users().create_user(authed(&viewer, new_user("xx1"))).await, Code::PermissionDenied);
    assert_code(app.users().create_user(authed(&operator, new_user("xx2"))).await, Code::PermissionDenied);
    app.users().create_user(authed(&admin, new_user("xx3"))).await.expect("admin creates users");
    // Viewers read, but cannot read the audit trail or manage keys.
    app.users().list_users(authed(&viewer, pb::ListUsersRequest::default())).await.expect("viewer reads users");
    assert_code(
        app.api_keys()
            .create_api_key(authed(&viewer, pb::CreateApiKeyRequest { name: "k".into(), ..Default::default() }))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        app.roles()
            .create_role(authed(&operator, pb::CreateRoleRequest { name: "ops".into(), ..Default::default() }))
            .await,
        Code::PermissionDenied,
    );
    let check = |token: &str, perm: &str| {
        let mut roles = app.roles();
        let req = authed(token, pb::CheckPermissionRequest { user_id: String::new(), permission: perm.into() });
        async move { roles.check_permission(req).await.unwrap().into_inner().allowed }
    };
    assert!(check(&operator, "message:send").await);
    assert!(!check(&viewer, "message:send").await);
    assert!(check(&viewer, "message:read").await);
    assert!(!check(&admin, "tenant:delete").await);
}

#[tokio::test]
async fn custom_roles_with_wildcards_and_expiry() {
    let app = spawn_app().await;
    let (t, _, owner) = app.tenant_with_user("acme", "olivia", "owner").await;
    let role = app
        .roles()
        .create_role(authed(
            &owner,
            pb::CreateRoleRequest {
                name: "messenger".into(),
                description: "sends".into(),
                permissions: vec!["message:*".into(), "template:read".into()],
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let sam = app.create_user(&owner, &t.id, "sam", "viewer").await;
    let expires = app.clock_ts(chrono::Duration::hours(1));
    app.roles()
        .assign_role(authed(
            &owner,
            pb::AssignRoleRequest { user_id: sam.id.clone(), role_id: role.id.clone(), expires_at: Some(expires) },
        ))
        .await
        .unwrap();
    let eff = app
        .roles()
        .get_effective_permissions(authed(&owner, pb::GetEffectivePermissionsRequest { user_id: sam.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(eff.roles.contains(&"messenger".to_owned()));
    assert!(eff.permissions.contains(&"message:*".to_owned()));
    app.clock.advance(chrono::Duration::hours(2));
    let eff = app
        .roles()
        .get_effective_permissions(authed(&owner, pb::GetEffectivePermissionsRequest { user_id: sam.id }))
        .await;
    // The owner's token has expired by now (15 min): log in again.
    assert_code(eff, Code::Unauthenticated);
    let owner = app.login("acme", "olivia", PASSWORD).await.unwrap().access_token;
    let sam_id = app
        .users()
        .list_users(authed(&owner, pb::ListUsersRequest { query: "sam".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .users[0]
        .id
        .clone();
    let eff = app
        .roles()
        .get_effective_permissions(authed(&owner, pb::GetEffectivePermissionsRequest { user_id: sam_id }))
        .await
        .unwrap()
        .into_inner();
    assert!(!eff.roles.contains(&"messenger".to_owned()), "expired grant no longer counts");
}

#[tokio::test]
async fn no_privilege_escalation_and_system_roles_are_fixed() {
    let app = spawn_app().await;
    let (_, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let roles =
        app.roles().list_roles(authed(&admin, pb::ListRolesRequest::default())).await.unwrap().into_inner().roles;
    let owner_role = roles.iter().find(|r| r.name == "owner").unwrap();
    // An admin can't hand out `*` (owner) nor create a role broader than themselves.
    let me = app.users().get_user(authed(&admin, pb::GetUserRequest::default())).await.unwrap().into_inner();
    assert_code(
        app.roles()
            .assign_role(authed(
                &admin,
                pb::AssignRoleRequest { user_id: me.id, role_id: owner_role.id.clone(), expires_at: None },
            ))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        app.roles()
            .create_role(authed(
                &admin,
                pb::CreateRoleRequest { name: "god".into(), permissions: vec!["*".into()], ..Default::default() },
            ))
            .await,
        Code::PermissionDenied,
    );
    assert_code(
        app.roles().delete_role(authed(&admin, pb::DeleteRoleRequest { role_id: owner_role.id.clone() })).await,
        Code::FailedPrecondition,
    );
    assert_code(
        app.roles()
            .create_role(authed(&admin, pb::CreateRoleRequest { name: "super_admin".into(), ..Default::default() }))
            .await,
        Code::InvalidArgument,
    );
}

#[tokio::test]
async fn a_super_admin_manages_any_tenants_roles_and_nobody_else_does() {
    let app = spawn_app().await;
    let (t, sam, _) = app.tenant_with_user("acme", "sam", "viewer").await;
    let (_, _, other_admin) = app.tenant_with_user("other", "olga", "owner").await;
    let admin = &app.admin_token;
    let role = app
        .roles()
        .create_role(authed(
            admin,
            pb::CreateRoleRequest {
                name: "auditor".into(),
                permissions: vec!["audit:read".into()],
                tenant_id: t.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(role.tenant_id, t.id);
    app.roles()
        .assign_role(authed(
            admin,
            pb::AssignRoleRequest { user_id: sam.id.clone(), role_id: role.id.clone(), expires_at: None },
        ))
        .await
        .unwrap();
    let listed = app
        .roles()
        .list_roles(authed(admin, pb::ListRolesRequest { tenant_id: t.id.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .roles;
    assert!(listed.iter().any(|r| r.id == role.id));
    let eff = app
        .roles()
        .get_effective_permissions(authed(admin, pb::GetEffectivePermissionsRequest { user_id: sam.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(eff.permissions.contains(&"audit:read".to_owned()));
    // Another tenant's owner sees neither the role nor the user.
    assert_code(
        app.roles().get_role(authed(&other_admin, pb::GetRoleRequest { role_id: role.id.clone() })).await,
        Code::NotFound,
    );
    assert_code(
        app.roles()
            .list_roles(authed(&other_admin, pb::ListRolesRequest { tenant_id: t.id.clone(), ..Default::default() }))
            .await,
        Code::PermissionDenied,
    );
    let own_role =
        app.roles().list_roles(authed(&other_admin, pb::ListRolesRequest::default())).await.unwrap().into_inner().roles
            [0]
        .id
        .clone();
    assert_code(
        app.roles()
            .assign_role(authed(
                &other_admin,
                pb::AssignRoleRequest { user_id: sam.id.clone(), role_id: own_role, expires_at: None },
            ))
            .await,
        Code::NotFound,
    );
}
