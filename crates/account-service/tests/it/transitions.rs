//! Requests and events the state machine does not allow: FailedPrecondition
//! to a user, `applied: false` to the event's sender, and nothing changes.

use tonic::Code;
use wework_client::NotifyType;
use wework_proto::account::{self as pb, AccountStatus::*};

use crate::helpers::*;

#[tokio::test]
async fn illegal_requests_are_failed_preconditions_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let created = app.create(&t, "Fresh").await;
    let id = || created.id.clone();

    let code = pb::SubmitVerifyCodeRequest { id: id(), code: VERIFY_CODE.into() };
    assert_code(app.accounts().submit_verify_code(authed(&t.token, code)).await, Code::FailedPrecondition);
    assert_code(
        app.accounts().recover(authed(&t.token, pb::RecoverRequest { id: id() })).await,
        Code::FailedPrecondition,
    );
    assert_code(
        app.accounts().logout(authed(&t.token, pb::LogoutRequest { id: id() })).await,
        Code::FailedPrecondition,
    );
    let refresh = app.accounts().refresh_qr(authed(&t.token, pb::RefreshQrRequest { id: id() })).await;
    assert_code(refresh, Code::FailedPrecondition);
    assert_eq!(status(app.get(&t, &created.id).await.status), Created);
    assert!(app.history(&t, &created.id).await.is_empty());

    let (online, _) = app.online_account(&t, "Online").await;
    assert_code(app.start_login(&t, &online.id).await, Code::FailedPrecondition);
    let code = pb::SubmitVerifyCodeRequest { id: online.id.clone(), code: VERIFY_CODE.into() };
    assert_code(app.accounts().submit_verify_code(authed(&t.token, code)).await, Code::FailedPrecondition);
    assert_eq!(status(app.get(&t, &online.id).await.status), Online);
}

#[tokio::test]
async fn events_that_do_not_apply_are_answered_not_applied() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (online, guid) = app.online_account(&t, "Online").await;
    let rows = app.history(&t, &online.id).await.len();

    let qr = serde_json::json!({"qr_url": "https://qr.example/late", "expires_at": 4_102_444_800_i64});
    let late = app.report(&guid, NotifyType::QrCodeChanged.code(), &qr).await;
    assert!(!late.applied, "{late:?}");
    assert_eq!((status(late.status), late.account_id.as_str()), (Online, online.id.as_str()));
    assert!(!late.note.is_empty());
    let scanned = app.report(&guid, NotifyType::QrCodeScanned.code(), &serde_json::json!({})).await;
    assert!(!scanned.applied);
    let still = app.get(&t, &online.id).await;
    assert_eq!((status(still.status), still.qr_code_url.as_str()), (Online, ""));
    assert_eq!(app.history(&t, &online.id).await.len(), rows);

    // A repeated event id changes nothing, even when it would apply.
    let timeout = serde_json::json!({"reason": "expired"});
    let first = app.report_as("evt-dup", &guid, NotifyType::SessionTimeout.code(), &timeout).await;
    assert!(first.applied && status(first.status) == Offline, "{first:?}");
    let again = app.report_as("evt-dup", &guid, NotifyType::SessionTimeout.code(), &timeout).await;
    assert!(!again.applied, "{again:?}");
    assert_eq!(app.history(&t, &online.id).await.len(), rows + 1);

    // An unknown guid is NotFound; bad data is InvalidArgument naming data_json.
    let unknown = pb::ReportEventRequest { guid: "no-such-guid".into(), notify_type: 19000, ..Default::default() };
    assert_code(app.accounts().report_event(app.as_service(unknown)).await, Code::NotFound);
    let bad = pb::ReportEventRequest {
        guid: guid.clone(),
        notify_type: 11002,
        data_json: "{\"qr_url\":1}".into(),
        ..Default::default()
    };
    let err = assert_code(app.accounts().report_event(app.as_service(bad)).await, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["data_json"]);
}
