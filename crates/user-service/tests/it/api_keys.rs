//! API keys: shown once, authenticated by services, revocable, expiring.

use chrono::Duration;
use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{assert_code, authed, spawn_app};

#[tokio::test]
async fn create_authenticate_revoke() {
    let app = spawn_app().await;
    let (t, user, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let created = app
        .api_keys()
        .create_api_key(authed(
            &admin,
            pb::CreateApiKeyRequest { name: "ci".into(), permissions: vec!["message:send".into()], expires_at: None },
        ))
        .await
        .unwrap()
        .into_inner();
    let key = created.key.clone();
    let meta = created.api_key.unwrap();
    assert!(key.starts_with(&format!("wwk_{}_", meta.prefix)), "{key} vs {}", meta.prefix);
    // Listing never shows the secret again.
    let listed =
        app.api_keys().list_api_keys(authed(&admin, pb::ListApiKeysRequest::default())).await.unwrap().into_inner();
    assert!(!format!("{listed:?}").contains(&key));

    let svc = app.service_token();
    let who = app
        .auth()
        .authenticate_api_key(authed(&svc, pb::AuthenticateApiKeyRequest { api_key: key.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(who.tenant_id, t.id);
    assert_eq!(who.user_id, user.id);
    assert_eq!(who.permissions, ["message:send"]);
    let listed =
        app.api_keys().list_api_keys(authed(&admin, pb::ListApiKeysRequest::default())).await.unwrap().into_inner();
    assert!(listed.api_keys[0].last_used_at.is_some(), "last_used_at updated");

    // Only services may exchange keys; a wrong secret with a right prefix fails.
    assert_code(
        app.auth().authenticate_api_key(authed(&admin, pb::AuthenticateApiKeyRequest { api_key: key.clone() })).await,
        Code::PermissionDenied,
    );
    let forged = format!("wwk_{}_{}", meta.prefix, "A".repeat(43));
    assert_code(
        app.auth().authenticate_api_key(authed(&svc, pb::AuthenticateApiKeyRequest { api_key: forged })).await,
        Code::Unauthenticated,
    );

    app.api_keys()
        .revoke_api_key(authed(&admin, pb::RevokeApiKeyRequest { api_key_id: meta.id.clone() }))
        .await
        .unwrap();
    assert_code(
        app.auth().authenticate_api_key(authed(&svc, pb::AuthenticateApiKeyRequest { api_key: key })).await,
        Code::Unauthenticated,
    );
}

#[tokio::test]
async fn keys_expire_and_cannot_exceed_their_creator() {
    let app = spawn_app().await;
    let (_, _, admin) = app.tenant_with_user("acme", "anna", "admin").await;
    let expires = app.clock_ts(Duration::hours(1));
    let created = app
        .api_keys()
        .create_api_key(authed(
            &admin,
            pb::CreateApiKeyRequest { name: "short".into(), permissions: vec![], expires_at: Some(expires) },
        ))
        .await
        .unwrap()
        .into_inner();
    let svc = app.service_token();
    app.auth()
        .authenticate_api_key(authed(&svc, pb::AuthenticateApiKeyRequest { api_key: created.key.clone() }))
        .await
        .expect("valid before expiry");
    app.clock.advance(Duration::hours(2));
    let svc = app.service_token();
    assert_code(
        app.auth().authenticate_api_key(authed(&svc, pb::AuthenticateApiKeyRequest { api_key: created.key })).await,
        Code::Unauthenticated,
    );

    let admin = app.login("acme", "anna", crate::helpers::PASSWORD).await.unwrap().access_token;
    assert_code(
        app.api_keys()
            .create_api_key(authed(
                &admin,
                pb::CreateApiKeyRequest { name: "god".into(), permissions: vec!["*".into()], expires_at: None },
            ))
            .await,
        Code::PermissionDenied,
    );
}
