//! Every validation error names its field.

use tonic::Code;
use wework_proto::common::PageRequest;
use wework_proto::user as pb;

use crate::helpers::{assert_code, authed, spawn_app, violated_fields};

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = spawn_app().await;
    let (_, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let s = assert_code(
        app.users()
            .create_user(authed(
                &admin,
                pb::CreateUserRequest {
                    username: "x".into(),
                    email: "not-an-email".into(),
                    display_name: "X".into(),
                    password: "short".into(),
                    ..Default::default()
                },
            ))
            .await,
        Code::InvalidArgument,
    );
    let fields = violated_fields(&s);
    for f in ["username", "email", "password"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    let cases: Vec<(&str, Result<(), tonic::Status>)> = vec![
        (
            "tenant_code",
            app.tenants()
                .create_tenant(authed(
                    &app.admin_token,
                    pb::CreateTenantRequest { tenant_code: "Bad Code!".into(), name: "n".into(), ..Default::default() },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "webhook_url",
            app.tenants()
                .create_tenant(authed(
                    &app.admin_token,
                    pb::CreateTenantRequest {
                        tenant_code: "okcode".into(),
                        name: "n".into(),
                        webhook_url: "ftp://x".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "max_daily_messages",
            app.tenants()
                .create_tenant(authed(
                    &app.admin_token,
                    pb::CreateTenantRequest {
                        tenant_code: "okcode2".into(),
                        name: "n".into(),
                        max_daily_messages: -5,
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "page.page_size",
            app.users()
                .list_users(authed(
                    &admin,
                    pb::ListUsersRequest {
                        page: Some(PageRequest { page_size: -1, page_token: String::new() }),
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "page.page_token",
            app.users()
                .list_users(authed(
                    &admin,
                    pb::ListUsersRequest {
                        page: Some(PageRequest { page_size: 5, page_token: "%%%garbage".into() }),
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "permissions",
            app.roles()
                .create_role(authed(
                    &admin,
                    pb::CreateRoleRequest {
                        name: "r1".into(),
                        permissions: vec!["NOT A PERM".into()],
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
        ),
        (
            "user_id",
            app.users().delete_user(authed(&admin, pb::DeleteUserRequest { user_id: String::new() })).await.map(|_| ()),
        ),
        (
            "tenant_code",
            app.auth()
                .login(pb::LoginRequest { login: "a".into(), password: "b".into(), ..Default::default() })
                .await
                .map(|_| ()),
        ),
        (
            "count",
            app.quota()
                .reserve_daily_messages(authed(
                    &app.service_token(),
                    pb::ReserveDailyMessagesRequest { tenant_id: "x".into(), count: -1 },
                ))
                .await
                .map(|_| ()),
        ),
    ];
    for (field, result) in cases {
        let s = assert_code(result, Code::InvalidArgument);
        assert!(violated_fields(&s).iter().any(|f| f == field), "{field}: {s:?}");
    }
}
