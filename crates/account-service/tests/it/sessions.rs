//! How sessions end: a user's logout (the instance's client logs out too),
//! WeWork timing the session out (recovered by the watchdog), and another
//! device taking over (left alone: a person chose it).

use wework_client::protocol::ClientState;
use wework_proto::account::{self as pb, AccountStatus::*};
use wework_sim::KickReason;

use crate::helpers::*;

#[tokio::test]
async fn logout_ends_the_session_here_and_on_the_instance() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Leaving").await;
    let out = app.accounts().logout(authed(&t.token, pb::LogoutRequest { id: account.id.clone() })).await;
    assert_eq!(status(out.expect("logout").into_inner().status), Offline);
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Offline));
    // The instance's 11004 that follows changes nothing, and nobody restores it.
    app.forward(&guid).await;
    app.advance_secs(3600);
    assert_eq!(app.tick().await.restore_attempts, 0);
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
    let last = app.transitions(&t, &account.id).await.pop().expect("change");
    assert_eq!(last, (Online, Offline, "user".to_owned()));

    // A logged-out account logs in again with a new QR code.
    let again = app.start_login(&t, &account.id).await.expect("login again");
    assert_eq!(status(again.account.expect("account").status), WaitingScan);
    assert!(!again.qr_code_url.is_empty());
}

#[tokio::test]
async fn a_timed_out_session_is_recovered() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Timeout").await;
    app.sim.kick(&guid, KickReason::SessionTimeout).await.expect("kick");
    let answers = app.forward(&guid).await;
    assert!(answers.iter().any(|(_, r)| r.applied && status(r.status) == Offline), "{answers:?}");
    let offline = app.get(&t, &account.id).await;
    assert_eq!(status(offline.status), Offline);
    assert!(offline.error_message.contains("session timed out"), "{}", offline.error_message);
    let report = app.tick().await;
    assert_eq!(report.restored, 1, "{report:?}");
    assert_eq!(status(app.get(&t, &account.id).await.status), Online);
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Online));
}

#[tokio::test]
async fn another_device_taking_over_is_not_recovered() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Elsewhere").await;
    app.sim.kick(&guid, KickReason::OtherDevice).await.expect("kick");
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
    for _ in 0..3 {
        app.advance_secs(120);
        assert_eq!(app.tick().await.restore_attempts, 0);
    }
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Offline));
}
