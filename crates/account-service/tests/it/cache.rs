//! GetAccount is served from a cache; every write must be visible to the
//! next read at once (updates, and status changes from events).

use wework_client::NotifyType;
use wework_proto::account::{self as pb, AccountStatus::*};

use crate::helpers::*;

#[tokio::test]
async fn reads_see_every_update_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Cached").await;
    for i in 0..20 {
        app.get(&t, &account.id).await;
        let req = pb::UpdateAccountRequest {
            id: account.id.clone(),
            account_name: Some(format!("Cached {i}")),
            remark: Some(format!("remark {i}")),
            tags: vec![format!("t{i}")],
            set_tags: true,
            ..Default::default()
        };
        let updated = app.accounts().update_account(authed(&t.token, req)).await.expect("update").into_inner();
        assert_eq!(updated.account_name, format!("Cached {i}"));
        let read = app.get(&t, &account.id).await;
        assert_eq!(
            (read.account_name, read.remark, read.tags),
            (format!("Cached {i}"), format!("remark {i}"), vec![format!("t{i}")])
        );
    }
    // Fields not named stay as they were.
    let req = pb::UpdateAccountRequest { id: account.id.clone(), phone: Some("+86 138".into()), ..Default::default() };
    app.accounts().update_account(authed(&t.token, req)).await.expect("update phone");
    let read = app.get(&t, &account.id).await;
    assert_eq!((read.account_name.as_str(), read.phone.as_str(), read.tags.len()), ("Cached 19", "+86 138", 1));
}

#[tokio::test]
async fn reads_see_status_changes_from_events_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let account = app.create(&t, "Evented").await;
    let guid = app.start_login(&t, &account.id).await.expect("start").account.expect("account").guid;
    assert_eq!(status(app.get(&t, &account.id).await.status), WaitingScan);
    app.report(&guid, NotifyType::QrCodeScanned.code(), &serde_json::json!({})).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), WaitingConfirm);
    app.sim.login(&guid).await.ok();
    app.forward(&guid).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), Online);
    let before = app.get(&t, &account.id).await.last_heartbeat_time;
    app.advance_secs(5);
    app.heartbeat(&guid).await;
    assert_ne!(app.get(&t, &account.id).await.last_heartbeat_time, before, "heartbeat visible");
    app.report(&guid, NotifyType::SessionTimeout.code(), &serde_json::json!({"reason": "x"})).await;
    assert_eq!(status(app.get(&t, &account.id).await.status), Offline);
}
