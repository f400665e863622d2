//! Refresh-token rotation, reuse detection, logout, garbage tokens, signing
//! key rotation.

use chrono::Duration;
use tonic::Code;
use tonic::Request;
use wework_proto::user as pb;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, assert_code, authed, spawn_app};

async fn refresh(app: &crate::helpers::TestApp, token: &str) -> Result<pb::TokenPair, tonic::Status> {
    app.auth()
        .refresh(pb::RefreshRequest { refresh_token: token.into(), ..Default::default() })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let first = app.login("acme", "alice", PASSWORD).await.unwrap();
    let second = refresh(&app, &first.refresh_token).await.expect("rotate");
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session_id, first.session_id);
    let third = refresh(&app, &second.refresh_token).await.expect("rotate again");

    // `first` was rotated two steps ago: presenting it is reuse. The whole
    // session dies, including the newest token.
    app.clock.advance(Duration::seconds(60));
    assert_code(refresh(&app, &first.refresh_token).await, Code::Unauthenticated);
    assert_code(refresh(&app, &third.refresh_token).await, Code::Unauthenticated);
    assert_code(app.auth().who_am_i(authed(&third.access_token, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
}

#[tokio::test]
async fn a_lost_refresh_response_can_be_retried_within_the_grace_window() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let first = app.login("acme", "alice", PASSWORD).await.unwrap();
    let _lost = refresh(&app, &first.refresh_token).await.expect("rotate");
    app.clock.advance(Duration::seconds(5));
    let retried = refresh(&app, &first.refresh_token).await.expect("retry within grace");
    refresh(&app, &retried.refresh_token).await.expect("session still alive");
}

#[tokio::test]
async fn replay_after_the_grace_window_revokes() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let first = app.login("acme", "alice", PASSWORD).await.unwrap();
    let second = refresh(&app, &first.refresh_token).await.expect("rotate");
    app.clock.advance(Duration::seconds(31));
    assert_code(refresh(&app, &first.refresh_token).await, Code::Unauthenticated);
    assert_code(refresh(&app, &second.refresh_token).await, Code::Unauthenticated);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    app.tenant_with_user("acme", "alice", "viewer").await;
    let t = app.login("acme", "alice", PASSWORD).await.unwrap();
    app.auth().logout(authed(&t.access_token, pb::LogoutRequest {})).await.unwrap();
    assert_code(app.auth().who_am_i(authed(&t.access_token, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
    assert_code(refresh(&app, &t.refresh_token).await, Code::Unauthenticated);
}

#[tokio::test]
async fn access_tokens_expire_with_the_clock() {
    let app = spawn_app().await;
    let t = app.login("platform", "admin", ADMIN_PASSWORD).await.unwrap();
    app.clock.advance(Duration::minutes(16));
    assert_code(app.auth().who_am_i(authed(&t.access_token, pb::WhoAmIRequest {})).await, Code::Unauthenticated);
    refresh(&app, &t.refresh_token).await.expect("refresh still works");
}

#[tokio::test]
async fn garbage_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    for bad in ["", "garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer"] {
        let mut req = Request::new(pb::WhoAmIRequest {});
        if !bad.is_empty() {
            req.metadata_mut().insert("authorization", format!("Bearer {bad}").parse().unwrap());
        }
        let s = assert_code(app.auth().who_am_i(req).await, Code::Unauthenticated);
        assert!(bad.is_empty() || !s.message().contains(bad), "token echoed back");
    }
    assert_code(refresh(&app, "rt_garbage").await, Code::Unauthenticated);
}

#[tokio::test]
async fn tokens_signed_before_a_key_rotation_stay_valid() {
    let app = spawn_app().await;
    let old = app.admin_token.clone();
    let keys = app.auth().get_signing_keys(pb::GetSigningKeysRequest {}).await.unwrap().into_inner();
    assert_eq!(keys.keys.len(), 1);
    let rotated =
        app.auth().rotate_signing_key(authed(&old, pb::RotateSigningKeyRequest {})).await.unwrap().into_inner();
    let keys = app.auth().get_signing_keys(pb::GetSigningKeysRequest {}).await.unwrap().into_inner();
    assert_eq!(keys.keys.len(), 2, "old key stays published");
    assert!(keys.keys.iter().any(|k| k.kid == rotated.kid && k.kty == "OKP" && k.crv == "Ed25519"));
    app.auth().who_am_i(authed(&old, pb::WhoAmIRequest {})).await.expect("old token still valid");
    let new = app.login("platform", "admin", ADMIN_PASSWORD).await.unwrap().access_token;
    app.auth().who_am_i(authed(&new, pb::WhoAmIRequest {})).await.expect("new token valid");
    // Once every old token has expired the old key is no longer published.
    app.clock.advance(Duration::minutes(25));
    let keys = app.auth().get_signing_keys(pb::GetSigningKeysRequest {}).await.unwrap().into_inner();
    assert_eq!(keys.keys.len(), 1);
}
