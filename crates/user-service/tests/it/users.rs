//! Users: CRUD, uniqueness per tenant, cursor pagination, passwords.

use tonic::Code;
use wework_proto::common::PageRequest;
use wework_proto::user as pb;

use crate::helpers::{PASSWORD, assert_code, authed, spawn_app};

#[tokio::test]
async fn usernames_are_unique_per_tenant_only() {
    let app = spawn_app().await;
    let (a, _, admin_a) = app.tenant_with_user("tenant-a", "anna", "admin").await;
    let (_, _, admin_b) = app.tenant_with_user("tenant-b", "bob", "admin").await;
    app.create_user(&admin_a, &a.id, "sam", "viewer").await;
    app.create_user(&admin_b, "", "sam", "viewer").await;
    let dup = app
        .users()
        .create_user(authed(
            &admin_a,
            pb::CreateUserRequest {
                username: "sam".into(),
                display_name: "Sam".into(),
                password: PASSWORD.into(),
                ..Default::default()
            },
        ))
        .await;
    assert_code(dup, Code::AlreadyExists);
}

#[tokio::test]
async fn deleted_user_cannot_log_in_and_frees_the_username() {
    let app = spawn_app().await;
    let (t, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let sam = app.create_user(&admin, &t.id, "sam", "viewer").await;
    let sam_token = app.login("acme", "sam", PASSWORD).await.unwrap().access_token;
    app.users().delete_user(authed(&admin, pb::DeleteUserRequest { user_id: sam.id.clone() })).await.unwrap();
    assert_code(app.login("acme", "sam", PASSWORD).await, Code::Unauthenticated);
    assert_code(app.auth().who_am_i(authed(&sam_token, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
    assert_code(app.users().get_user(authed(&admin, pb::GetUserRequest { user_id: sam.id })).await, Code::NotFound);
    app.create_user(&admin, &t.id, "sam", "viewer").await;
}

#[tokio::test]
async fn list_users_pages_through_everyone_exactly_once() {
    let app = spawn_app().await;
    let (t, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    for i in 0..7 {
        app.create_user(&admin, &t.id, &format!("user{i}"), if i % 2 == 0 { "viewer" } else { "operator" }).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .users()
            .list_users(authed(
                &admin,
                pb::ListUsersRequest {
                    page: Some(PageRequest { page_size: 3, page_token: token.clone() }),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.users.len() <= 3);
        seen.extend(page.users.into_iter().map(|u| u.username));
        token = page.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    seen.sort();
    let mut expected: Vec<String> = (0..7).map(|i| format!("user{i}")).collect();
    expected.push("anna".into());
    expected.sort();
    assert_eq!(seen, expected);
    let operators = app
        .users()
        .list_users(authed(&admin, pb::ListUsersRequest { role: "operator".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(operators.len(), 3);
    assert!(operators.iter().all(|u| u.roles == ["operator"]));
    let found = app
        .users()
        .list_users(authed(&admin, pb::ListUsersRequest { query: "user3".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn change_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let here = app.login("acme", "alice", PASSWORD).await.unwrap().access_token;
    let elsewhere = app.login("acme", "alice", PASSWORD).await.unwrap().access_token;
    let wrong = app
        .users()
        .change_password(authed(
            &here,
            pb::ChangePasswordRequest {
                current_password: "nope-nope-nope".into(),
                new_password: "Brand-New-Pass-1".into(),
            },
        ))
        .await;
    assert_code(wrong, Code::PermissionDenied);
    app.users()
        .change_password(authed(
            &here,
            pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "Brand-New-Pass-1".into() },
        ))
        .await
        .unwrap();
    app.auth().who_am_i(authed(&here, pb::WhoAmIRequest {})).await.expect("own session stays");
    assert_code(app.auth().who_am_i(authed(&elsewhere, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
    assert_code(app.login("acme", "alice", PASSWORD).await, Code::Unauthenticated);
    app.login("acme", "alice", "Brand-New-Pass-1").await.expect("new password works");
}

#[tokio::test]
async fn admin_reset_sets_a_password_and_unlocks() {
    let app = spawn_app().await;
    let (_, alice, _) = app.tenant_with_user("acme", "alice", "viewer").await;
    for _ in 0..6 {
        let _ = app.login("acme", "alice", "Wrong-Password-1").await;
    }
    let admin = app.create_user(&app.admin_token, &alice.tenant_id, "anna", "admin").await;
    let admin_token = app.login("acme", &admin.username, PASSWORD).await.unwrap().access_token;
    app.users()
        .reset_password(authed(
            &admin_token,
            pb::ResetPasswordRequest { user_id: alice.id, new_password: "Reset-Pass-123".into() },
        ))
        .await
        .unwrap();
    app.login("acme", "alice", "Reset-Pass-123").await.expect("reset password works while the lock is still running");
}

#[tokio::test]
async fn get_user_never_returns_secrets() {
    let app = spawn_app().await;
    let (_, alice, token) = app.tenant_with_user("acme", "alice", "viewer").await;
    let me = app.users().get_user(authed(&token, pb::GetUserRequest::default())).await.unwrap().into_inner();
    assert_eq!(me.id, alice.id);
    let dump = format!("{me:?}");
    assert!(!dump.contains(PASSWORD) && !dump.contains("argon2"), "{dump}");
}
