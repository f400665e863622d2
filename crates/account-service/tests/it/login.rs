//! The QR login flow as a user sees it: StartLogin → waiting_scan with a QR
//! code, the phone scanning and confirming (events forwarded from the
//! simulator), verification codes, expired and refreshed QR codes.

use tonic::Code;
use wework_client::NotifyType;
use wework_client::protocol::ClientState;
use wework_proto::account::{self as pb, AccountStatus::*};

use crate::helpers::*;

#[tokio::test]
async fn a_login_walks_from_created_to_online() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Sales 1").await;
    assert_eq!(status(account.status), Created);

    let login = app.start_login(&t, &account.id).await.expect("start login");
    let started = login.account.expect("account");
    assert_eq!(status(started.status), WaitingScan);
    assert!(!login.qr_code_url.is_empty() && login.qr_expires_at.is_some());
    assert_eq!(started.qr_code_url, login.qr_code_url);
    assert_eq!(started.instance_id, app.instance.id);
    let guid = started.guid.clone();
    assert!(!guid.is_empty());
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::WaitingScan));
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 1);

    app.sim.scan(&guid).await.expect("scan");
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), WaitingConfirm);

    app.sim.confirm(&guid).await.expect("confirm");
    app.forward(&guid).await;
    let online = app.get(&t, &account.id).await;
    assert_eq!(status(online.status), Online);
    let user = online.user_info.expect("user info");
    assert!(!user.user_id.is_empty() && !user.name.is_empty());
    assert!(online.last_login_time.is_some() && online.last_heartbeat_time.is_some());
    assert!(online.qr_code_url.is_empty());

    let expected = vec![
        (Created, LoggingIn, "user".to_owned()),
        (LoggingIn, WaitingScan, "system".to_owned()),
        (WaitingScan, WaitingConfirm, "system".to_owned()),
        (WaitingConfirm, Online, "system".to_owned()),
    ];
    assert_eq!(app.transitions(&t, &account.id).await, expected);
}

#[tokio::test]
async fn a_verification_code_completes_a_login() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Verify").await;
    let guid = app.start_login(&t, &account.id).await.expect("start").account.expect("account").guid;
    app.sim.require_verify(&guid, true).await.expect("require verify");
    app.sim.login(&guid).await.expect("scan + confirm");
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), NeedVerify);

    let submit = |code: &str| pb::SubmitVerifyCodeRequest { id: account.id.clone(), code: code.into() };
    let wrong = app.accounts().submit_verify_code(authed(&t.token, submit("000000"))).await;
    let err = assert_code(wrong, Code::InvalidArgument);
    assert_eq!(violated_fields(&err), vec!["code"]);
    let bad_format = app.accounts().submit_verify_code(authed(&t.token, submit("12ab"))).await;
    assert_eq!(violated_fields(&assert_code(bad_format, Code::InvalidArgument)), vec!["code"]);
    assert_eq!(status(app.get(&t, &account.id).await.status), NeedVerify);

    app.accounts().submit_verify_code(authed(&t.token, submit(VERIFY_CODE))).await.expect("right code");
    app.forward(&guid).await;
    let online = app.get(&t, &account.id).await;
    assert_eq!(status(online.status), Online);
    assert!(online.user_info.is_some());
    let path: Vec<_> = app.transitions(&t, &account.id).await.into_iter().map(|(_, to, _)| to).collect();
    assert_eq!(path, vec![LoggingIn, WaitingScan, WaitingConfirm, NeedVerify, Online]);
}

#[tokio::test]
async fn an_expired_qr_code_is_replaced_without_a_new_history_row() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "QR").await;
    let first = app.start_login(&t, &account.id).await.expect("start");
    let guid = first.account.expect("account").guid;
    app.forward(&guid).await;
    let rows_before = app.history(&t, &account.id).await.len();

    let new_qr = app.sim.expire_qr(&guid).await.expect("expire");
    assert_ne!(new_qr.qr_url, first.qr_code_url);
    let answers = app.forward(&guid).await;
    assert!(answers.iter().any(|(k, r)| *k == NotifyType::QrCodeChanged.code() && r.applied), "{answers:?}");
    let waiting = app.get(&t, &account.id).await;
    assert_eq!(status(waiting.status), WaitingScan);
    assert_eq!(waiting.qr_code_url, new_qr.qr_url);
    assert_eq!(waiting.qr_expires_at.map(|t| t.seconds), Some(new_qr.expires_at));
    assert_eq!(app.history(&t, &account.id).await.len(), rows_before, "waiting_scan → waiting_scan is no transition");

    // RefreshQr while waiting answers the current code.
    let refreshed = app.accounts().refresh_qr(authed(&t.token, pb::RefreshQrRequest { id: account.id.clone() })).await;
    let refreshed = refreshed.expect("refresh").into_inner();
    assert_eq!(refreshed.qr_code_url, new_qr.qr_url);
    assert_eq!(status(refreshed.account.expect("account").status), WaitingScan);

    // After the scan, an expired code starts over at waiting_scan.
    app.sim.scan(&guid).await.expect("scan");
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), WaitingConfirm);
    let data = serde_json::json!({"qr_url": "https://qr.example/again", "expires_at": 4_102_444_800_i64});
    let back = app.report(&guid, NotifyType::QrCodeChanged.code(), &data).await;
    assert!(back.applied, "{back:?}");
    let again = app.get(&t, &account.id).await;
    assert_eq!((status(again.status), again.qr_code_url.as_str()), (WaitingScan, "https://qr.example/again"));
    let last = app.transitions(&t, &account.id).await.pop().expect("a change");
    assert_eq!((last.0, last.1), (WaitingConfirm, WaitingScan));
}
