//! Passwords, refresh tokens, API keys and TOTP secrets never reach the logs.

use wework_proto::user as pb;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, authed, captured_logs, spawn_app};

#[tokio::test]
async fn secrets_are_never_logged() {
    let app = spawn_app().await;
    let (_, _, token) = app.tenant_with_user("acme", "alice", "admin").await;
    let _ = app.login("acme", "alice", "Wrong-But-Secret-77").await;
    let pair = app.login("acme", "alice", PASSWORD).await.unwrap();
    let rotated = app
        .auth()
        .refresh(pb::RefreshRequest { refresh_token: pair.refresh_token.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let key = app
        .api_keys()
        .create_api_key(authed(&token, pb::CreateApiKeyRequest { name: "k".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .key;
    let _ = app
        .auth()
        .authenticate_api_key(authed(&app.service_token(), pb::AuthenticateApiKeyRequest { api_key: key.clone() }))
        .await
        .unwrap();
    let totp = app.auth().enroll_totp(authed(&token, pb::EnrollTotpRequest {})).await.unwrap().into_inner().secret;
    app.users()
        .change_password(authed(
            &token,
            pb::ChangePasswordRequest { current_password: PASSWORD.into(), new_password: "Next-Secret-Pass-9".into() },
        ))
        .await
        .unwrap();

    let logs = captured_logs();
    assert!(logs.contains("grpc"), "the capture sees the services' logs");
    for secret in [
        PASSWORD,
        ADMIN_PASSWORD,
        "Wrong-But-Secret-77",
        "Next-Secret-Pass-9",
        &pair.refresh_token,
        &rotated.refresh_token,
        &key,
        &totp,
        &pair.access_token,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
