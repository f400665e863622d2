//! The watchdog on the manual clock: a silent online account goes offline
//! and is restored; failed restores back off and end in `error`; heartbeats
//! keep an account online.

use wework_client::protocol::ClientState;
use wework_proto::account::AccountStatus::*;
use wework_sim::Faults;

use crate::helpers::*;

#[tokio::test]
async fn a_silent_account_goes_offline_and_is_restored() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, _guid) = app.online_account(&t, "Silent").await;

    app.advance_secs(30);
    assert_eq!(app.tick().await.went_offline, 0, "not silent long enough");
    app.advance_secs(31);
    let first = app.tick().await;
    assert_eq!(first.went_offline, 1, "{first:?}");
    // Recovery is due at once; the next tick restores it if this one did not.
    app.tick().await;
    let restored = app.get(&t, &account.id).await;
    assert_eq!(status(restored.status), Online, "{restored:?}");
    assert_eq!(restored.recover_attempts, 0);

    let changes = app.transitions(&t, &account.id).await;
    let tail: Vec<_> = changes[changes.len() - 3..].to_vec();
    assert_eq!(
        tail,
        vec![
            (Online, Offline, "auto".to_owned()),
            (Offline, Recovering, "auto".to_owned()),
            (Recovering, Online, "auto".to_owned()),
        ]
    );
    let offline = &app.history(&t, &account.id).await[changes.len() - 3];
    assert_eq!(offline.reason, "heartbeat timeout");
}

#[tokio::test]
async fn failing_restores_back_off_then_give_up_as_error() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Failing").await;
    app.sim.kick(&guid, wework_sim::KickReason::SessionTimeout).await.expect("kick");
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
    app.sim.set_faults(Faults { error_rate: 1.0, ..Faults::default() });

    // Attempt 1 now; then 10 s and 20 s of backoff (max 3 attempts).
    assert_eq!(app.tick().await.restore_attempts, 1);
    let after_one = app.get(&t, &account.id).await;
    assert_eq!((status(after_one.status), after_one.recover_attempts), (Recovering, 1));
    assert!(after_one.error_message.contains("unavailable"), "{}", after_one.error_message);
    app.advance_secs(9);
    assert_eq!(app.tick().await.restore_attempts, 0, "backoff not elapsed");
    app.advance_secs(1);
    assert_eq!(app.tick().await.restore_attempts, 1);
    assert_eq!(app.get(&t, &account.id).await.recover_attempts, 2);
    app.advance_secs(19);
    assert_eq!(app.tick().await.restore_attempts, 0, "backoff doubled");
    app.advance_secs(1);
    let last = app.tick().await;
    assert_eq!((last.restore_attempts, last.gave_up), (1, 1), "{last:?}");
    let failed = app.get(&t, &account.id).await;
    assert_eq!((status(failed.status), failed.recover_attempts), (Error, 3));
    assert!(!failed.error_message.is_empty());
    app.advance_secs(600);
    assert_eq!(app.tick().await.restore_attempts, 0, "given up");
    let reasons: Vec<_> = app.history(&t, &account.id).await.into_iter().map(|c| c.reason).collect();
    assert_eq!(reasons.last().map(String::as_str), Some("restore attempts exhausted"));
}

#[tokio::test]
async fn an_unrestorable_session_is_an_error_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Gone").await;
    app.sim.set_restorable(&guid, false).await.expect("restorable");
    app.sim.kick(&guid, wework_sim::KickReason::SessionTimeout).await.expect("kick");
    app.forward(&guid).await;
    let report = app.tick().await;
    assert_eq!((report.restore_attempts, report.gave_up), (1, 1), "{report:?}");
    let failed = app.get(&t, &account.id).await;
    assert_eq!((status(failed.status), failed.recover_attempts), (Error, 1));
    assert_eq!(app.sim.client_state(&guid), Some(ClientState::Offline));
}

#[tokio::test]
async fn heartbeats_keep_an_account_online() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Beating").await;
    for _ in 0..4 {
        app.advance_secs(40);
        app.heartbeat(&guid).await;
        assert_eq!(app.tick().await.went_offline, 0);
    }
    let alive = app.get(&t, &account.id).await;
    assert_eq!(status(alive.status), Online);
    assert_eq!(alive.last_heartbeat_time.map(|t| t.seconds), Some(app.clock_now().timestamp()));
    app.advance_secs(61);
    assert_eq!(app.tick().await.went_offline, 1, "silent again");
}
