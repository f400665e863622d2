//! The login state machine and the ways out and back, as a driver and a
//! callback receiver see them.

use wework_client::NotifyType::{self, *};
use wework_client::callback::{ContactSyncData, LoginSuccessData, QrCodeChangedData};
use wework_client::protocol::ClientState;
use wework_client::{ProviderError, WeworkProvider};
use wework_sim::KickReason;

use crate::helpers::{TestSim, eventually};

fn codes(types: &[NotifyType]) -> Vec<i32> {
    types.iter().map(|t| t.code()).collect()
}

#[tokio::test]
async fn whole_login_flow_with_an_expired_qr_code() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Created));
    t.receiver.wait_for(&guid, Ready).await;

    let qr = t.provider.get_qr_code(&guid).await.unwrap();
    assert_eq!(qr.qr_url, format!("https://sim.local/qr/{guid}/1"));
    assert!(qr.expires_at > chrono::Utc::now().timestamp());
    assert_eq!(t.provider.get_qr_code(&guid).await.unwrap(), qr, "a still-valid code is returned again");
    assert_eq!(t.provider.status(&guid).await.unwrap().state, ClientState::WaitingScan);

    let renewed = t.sim.expire_qr(&guid).await.unwrap();
    assert_eq!(renewed.qr_url, format!("https://sim.local/qr/{guid}/2"));
    let changes = t.receiver.wait_count(&guid, QrCodeChanged, 2).await;
    let last: QrCodeChangedData = serde_json::from_value(changes[1].data.clone()).unwrap();
    assert_eq!(last.qr_url, renewed.qr_url);

    t.sim.scan(&guid).await.unwrap();
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::WaitingConfirm));
    t.sim.confirm(&guid).await.unwrap();
    let sync = t.receiver.wait_for(&guid, ContactSyncFinished).await;
    let sync: ContactSyncData = serde_json::from_value(sync.data).unwrap();
    assert_eq!(sync, ContactSyncData { contacts: 50, groups: 5 });

    assert_eq!(
        t.receiver.types_of(&guid),
        codes(&[Ready, QrCodeChanged, QrCodeChanged, QrCodeScanned, LoginSuccess, ContactSyncFinished])
    );
    let login: LoginSuccessData = serde_json::from_value(t.receiver.wait_for(&guid, LoginSuccess).await.data).unwrap();
    let status = t.provider.status(&guid).await.unwrap();
    assert_eq!((status.state, status.user_info), (ClientState::Online, Some(login.user_info)));
    assert!(t.sim.scan(&guid).await.is_err(), "an online client has nothing to scan");
    assert!(matches!(t.provider.get_qr_code(&guid).await, Err(ProviderError::NotLoggedIn(_))));
    assert_eq!(t.receiver.bad_signatures(), 0);
}

#[tokio::test]
async fn a_required_verify_code_refuses_the_wrong_code_and_accepts_the_right_one() {
    let t = TestSim::start().await;
    let guid = t.create().await;
    t.sim.require_verify(&guid, true).await.unwrap();
    assert!(matches!(t.provider.submit_verify_code(&guid, "123456").await, Err(ProviderError::NotLoggedIn(_))));
    t.provider.get_qr_code(&guid).await.unwrap();
    t.sim.login(&guid).await.unwrap();
    t.receiver.wait_for(&guid, SafetyVerification).await;
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::NeedVerify));

    assert!(matches!(t.provider.submit_verify_code(&guid, "000000").await, Err(ProviderError::InvalidRequest(_))));
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::NeedVerify));
    t.provider.submit_verify_code(&guid, "123456").await.unwrap();
    t.receiver.wait_for(&guid, ContactSyncFinished).await;
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Online));
    assert!(matches!(t.provider.submit_verify_code(&guid, "123456").await, Err(ProviderError::NotLoggedIn(_))));
    assert_eq!(
        t.receiver.types_of(&guid),
        codes(&[Ready, QrCodeChanged, QrCodeScanned, SafetyVerification, LoginSuccess, ContactSyncFinished])
    );
}

#[tokio::test]
async fn logout_and_each_kick_reason_send_their_notify_type_and_restore_brings_it_back() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    t.provider.logout(&guid).await.unwrap();
    t.provider.logout(&guid).await.unwrap(); // a repeat is a no-op
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Offline));
    t.receiver.wait_for(&guid, Logout).await;

    for (reason, kind) in [
        (KickReason::SessionTimeout, SessionTimeout),
        (KickReason::OtherDevice, LoggedInElsewhere),
        (KickReason::Logout, Logout),
    ] {
        assert_eq!(t.provider.restore(&guid).await.unwrap().state, ClientState::Online);
        t.sim.kick(&guid, reason).await.unwrap();
        assert_eq!(t.provider.status(&guid).await.unwrap().state, ClientState::Offline);
        t.receiver.wait_for(&guid, kind).await;
        assert!(t.sim.kick(&guid, reason).await.is_err(), "an offline client cannot be kicked");
    }
    let expected = codes(&[Logout, SessionTimeout, LoggedInElsewhere, Logout]);
    eventually("every ending", || {
        let types = t.receiver.types_of(&guid);
        let endings: Vec<i32> = types.into_iter().filter(|t| [11004, 11007, 11011].contains(t)).collect();
        (endings == expected).then_some(())
    })
    .await;
    assert_eq!(t.receiver.wait_count(&guid, LoginSuccess, 4).await.len(), 4);
}

#[tokio::test]
async fn restore_answers_the_state_it_could_reach_and_refuses_banned_accounts() {
    let t = TestSim::start().await;
    let fresh = t.create().await;
    assert_eq!(t.provider.restore(&fresh).await.unwrap().state, ClientState::Created);

    let guid = t.online().await;
    assert_eq!(t.provider.restore(&guid).await.unwrap().state, ClientState::Online);
    t.sim.kick(&guid, KickReason::SessionTimeout).await.unwrap();
    t.sim.set_restorable(&guid, false).await.unwrap();
    assert_eq!(t.provider.restore(&guid).await.unwrap().state, ClientState::Offline, "a QR login is needed");
    t.sim.set_restorable(&guid, true).await.unwrap();
    assert_eq!(t.provider.restore(&guid).await.unwrap().state, ClientState::Online);
    assert_eq!(t.receiver.wait_count(&guid, LoginSuccess, 2).await.len(), 2, "restoring an online client is silent");

    t.sim.ban(&guid).await.unwrap();
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Restricted));
    assert!(matches!(t.provider.restore(&guid).await, Err(ProviderError::AccountRestricted(_))));
    let send = crate::sends::text(&guid, "c1", "hi");
    assert!(matches!(t.provider.send_message(&send).await, Err(ProviderError::AccountRestricted(_))));
    assert!(matches!(t.provider.status("no-such-guid").await, Err(ProviderError::UnknownClient(_))));
}

#[tokio::test]
async fn heartbeats_stop_on_heartbeat_loss_until_restore() {
    let t = TestSim::start().await;
    let guid = t.online().await;
    assert_eq!(t.sim.emit_heartbeats().await, 1);
    t.receiver.wait_for(&guid, Heartbeat).await;

    t.sim.heartbeat_loss(&guid).await.unwrap();
    t.receiver.wait_for(&guid, HeartbeatError).await;
    assert_eq!(t.sim.emit_heartbeats().await, 0);
    assert_eq!(t.provider.status(&guid).await.unwrap().state, ClientState::Offline);

    t.provider.restore(&guid).await.unwrap();
    assert_eq!(t.sim.emit_heartbeats().await, 1);
    t.receiver.wait_count(&guid, Heartbeat, 2).await;
}

#[tokio::test]
async fn an_unscanned_code_is_replaced_when_it_expires_and_a_declined_login_ends_offline() {
    let config =
        wework_sim::SimConfig { qr_ttl: std::time::Duration::from_millis(100), ..crate::helpers::test_config() };
    let t = TestSim::with(config).await;
    let guid = t.create().await;
    t.provider.get_qr_code(&guid).await.unwrap();
    let changes = t.receiver.wait_count(&guid, QrCodeChanged, 3).await;
    let third: QrCodeChangedData = serde_json::from_value(changes[2].data.clone()).unwrap();
    assert!(third.qr_url.ends_with("/3"), "{}", third.qr_url);

    t.sim.scan(&guid).await.unwrap();
    t.sim.decline(&guid).await.unwrap();
    assert_eq!(t.sim.client_state(&guid), Some(ClientState::Offline));
    let logout = t.receiver.wait_for(&guid, Logout).await;
    assert_eq!(logout.data["reason"], "declined");
    assert!(t.provider.get_qr_code(&guid).await.is_ok(), "an offline client can log in again");
}

#[tokio::test]
async fn the_ticker_sends_heartbeats_every_interval() {
    let config = wework_sim::SimConfig {
        heartbeat_interval: std::time::Duration::from_millis(20),
        ..crate::helpers::test_config()
    };
    let t = TestSim::with(config).await;
    let guid = t.online().await;
    t.receiver.wait_count(&guid, Heartbeat, 3).await;
    t.sim.shutdown().await;
}
