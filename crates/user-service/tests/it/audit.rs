//! The audit trail: mutations are recorded, secrets are not.

use tonic::Code;
use wework_proto::user as pb;

use crate::helpers::{PASSWORD, assert_code, authed, spawn_app};

#[tokio::test]
async fn mutations_and_failed_logins_are_audited_without_secrets() {
    let app = spawn_app().await;
    let (t, alice, owner) = app.tenant_with_user("acme", "alice", "owner").await;
    let _ = app.login("acme", "alice", "Wrong-Password-1").await;
    let logs = app
        .audit()
        .list_audit_logs(authed(&owner, pb::ListAuditLogsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let ops: Vec<&str> = logs.iter().map(|l| l.operation.as_str()).collect();
    assert!(ops.contains(&"user.create"), "{ops:?}");
    assert!(ops.contains(&"auth.login"), "{ops:?}");
    assert!(logs.iter().all(|l| l.tenant_id == t.id));
    let failed = logs
        .iter()
        .find(|l| l.operation == "auth.login" && l.result == wework_proto::common::OperationResult::Failure as i32);
    assert!(failed.is_some(), "failed login audited");
    let dump = format!("{logs:?}");
    assert!(
        !dump.contains(PASSWORD) && !dump.contains("Wrong-Password-1") && !dump.contains("argon2"),
        "secret in audit: {dump}"
    );
    let created = logs.iter().find(|l| l.operation == "user.create").unwrap();
    assert_eq!(created.resource_id, alice.id);
    let filtered = app
        .audit()
        .list_audit_logs(authed(
            &owner,
            pb::ListAuditLogsRequest { operation: "user.create".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(filtered.iter().all(|l| l.operation == "user.create"));
}

#[tokio::test]
async fn services_record_audit_rows_and_users_cannot() {
    let app = spawn_app().await;
    let (t, _, owner) = app.tenant_with_user("acme", "alice", "owner").await;
    let entry = pb::AuditLog {
        tenant_id: t.id.clone(),
        operation: "account.create".into(),
        resource_type: "account".into(),
        resource_id: "acc-1".into(),
        service: "account-service".into(),
        ..Default::default()
    };
    app.audit()
        .record_audit(authed(&app.service_token(), pb::RecordAuditRequest { entry: Some(entry.clone()) }))
        .await
        .unwrap();
    assert_code(
        app.audit().record_audit(authed(&owner, pb::RecordAuditRequest { entry: Some(entry) })).await,
        Code::PermissionDenied,
    );
    let logs = app
        .audit()
        .list_audit_logs(authed(
            &owner,
            pb::ListAuditLogsRequest { resource_type: "account".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].service, "account-service");
}
