//! Login: success, uniform failures, exponential lockout driven by the
//! injected clock, two-factor.

use chrono::Duration;
use tonic::Code;
use wework_kit::clock::Clock;
use wework_proto::user as pb;

use crate::helpers::{PASSWORD, assert_code, authed, spawn_app};

#[tokio::test]
async fn login_succeeds_and_token_identifies_the_user() {
    let app = spawn_app().await;
    let (tenant, user, token) = app.tenant_with_user("acme", "alice", "operator").await;
    let me = app.auth().who_am_i(authed(&token, pb::WhoAmIRequest {})).await.unwrap().into_inner();
    assert_eq!(me.user_id, user.id);
    assert_eq!(me.tenant_id, tenant.id);
    assert_eq!(me.roles, vec!["operator".to_owned()]);
    assert!(me.permissions.iter().any(|p| p.starts_with("message:")));
    // Login by email works too.
    app.login("acme", "alice@example.com", PASSWORD).await.expect("email login");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let wrong = assert_code(app.login("acme", "alice", "Wrong-Password-1").await, Code::Unauthenticated);
    let unknown = assert_code(app.login("acme", "nobody", PASSWORD).await, Code::Unauthenticated);
    let no_tenant = assert_code(app.login("nope", "alice", PASSWORD).await, Code::Unauthenticated);
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.message(), no_tenant.message());
    assert!(!wrong.message().to_lowercase().contains("password"), "message names the wrong part: {}", wrong.message());
}

#[tokio::test]
async fn five_failures_lock_then_the_lock_doubles_and_expires() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    for _ in 0..5 {
        assert_code(app.login("acme", "alice", "Wrong-Password-1").await, Code::Unauthenticated);
    }
    // Locked for 1 s: even the right password fails, with the same error.
    assert_code(app.login("acme", "alice", PASSWORD).await, Code::Unauthenticated);
    app.clock.advance(Duration::milliseconds(1_100));
    // One more failure after the lock: 6th failure locks for 2 s.
    assert_code(app.login("acme", "alice", "Wrong-Password-1").await, Code::Unauthenticated);
    app.clock.advance(Duration::milliseconds(1_500));
    assert_code(app.login("acme", "alice", PASSWORD).await, Code::Unauthenticated);
    app.clock.advance(Duration::milliseconds(600));
    app.login("acme", "alice", PASSWORD).await.expect("unlocked after 2 s");
    // Success resets the counter: four failures don't lock again.
    for _ in 0..4 {
        assert_code(app.login("acme", "alice", "Wrong-Password-1").await, Code::Unauthenticated);
    }
    app.login("acme", "alice", PASSWORD).await.expect("four failures do not lock");
}

#[tokio::test]
async fn lock_is_capped_at_fifteen_minutes() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    for _ in 0..30 {
        let _ = app.login("acme", "alice", "Wrong-Password-1").await;
        app.clock.advance(Duration::minutes(16));
    }
    assert_code(app.login("acme", "alice", "Wrong-Password-1").await, Code::Unauthenticated);
    app.clock.advance(Duration::minutes(15) + Duration::seconds(1));
    app.login("acme", "alice", PASSWORD).await.expect("cap is 15 minutes");
}

#[tokio::test]
async fn suspended_tenant_cannot_log_in() {
    let app = spawn_app().await;
    let (tenant, _, token) = app.tenant_with_user("acme", "alice", "viewer").await;
    app.tenants()
        .suspend_tenant(authed(
            &app.admin_token,
            pb::SuspendTenantRequest { tenant_id: tenant.id.clone(), reason: "unpaid".into() },
        ))
        .await
        .unwrap();
    let s = assert_code(app.login("acme", "alice", PASSWORD).await, Code::FailedPrecondition);
    assert!(s.message().contains("suspended"));
    // Sessions opened before the suspension end with it.
    assert_code(app.auth().who_am_i(authed(&token, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
    app.tenants()
        .resume_tenant(authed(&app.admin_token, pb::ResumeTenantRequest { tenant_id: tenant.id }))
        .await
        .unwrap();
    app.login("acme", "alice", PASSWORD).await.expect("resumed tenant logs in");
}

#[tokio::test]
async fn totp_is_required_once_enabled() {
    let app = spawn_app().await;
    let (_, _, token) = app.tenant_with_user("acme", "alice", "viewer").await;
    let enrol = app.auth().enroll_totp(authed(&token, pb::EnrollTotpRequest {})).await.unwrap().into_inner();
    assert!(enrol.otpauth_uri.starts_with("otpauth://totp/"));
    let code = user_service::domain::totp::code_at(&enrol.secret, app.clock.now()).expect("code");
    app.auth().confirm_totp(authed(&token, pb::ConfirmTotpRequest { code })).await.unwrap();

    let s = assert_code(app.login("acme", "alice", PASSWORD).await, Code::FailedPrecondition);
    assert!(s.message().contains("two-factor"));
    app.clock.advance(Duration::seconds(30));
    let code = user_service::domain::totp::code_at(&enrol.secret, app.clock.now()).expect("code");
    let ok = app
        .auth()
        .login(pb::LoginRequest {
            tenant_code: "acme".into(),
            login: "alice".into(),
            password: PASSWORD.into(),
            totp_code: code.clone(),
            ..Default::default()
        })
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    // The same code can't be replayed.
    let replay = app
        .auth()
        .login(pb::LoginRequest {
            tenant_code: "acme".into(),
            login: "alice".into(),
            password: PASSWORD.into(),
            totp_code: code,
            ..Default::default()
        })
        .await;
    assert_code(replay, Code::Unauthenticated);
}
