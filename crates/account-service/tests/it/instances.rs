//! The instance registry: secrets never come back, updates, restarts seen
//! through heartbeats (their online accounts go offline for recovery), and
//! capacity-aware assignment of logins.

use tonic::Code;
use wework_proto::account::{self as pb, AccountStatus::*};

use crate::helpers::*;

#[tokio::test]
async fn secrets_are_stored_but_never_returned() {
    let app = spawn_app().await;
    let proxy = pb::ProxyConfig {
        scheme: "socks5".into(),
        host: "proxy.local".into(),
        port: 1080,
        username: "u".into(),
        password: "proxy-pw-Secret".into(),
        has_password: false,
    };
    let req = pb::RegisterInstanceRequest {
        name: "proxied".into(),
        api_url: "http://10.0.0.5:7070/".into(),
        token: "instance-token-Secret".into(),
        max_accounts: 5,
        proxy: Some(proxy),
        region: "cn-east".into(),
    };
    let inst = app.instances().register_instance(authed(&app.admin, req)).await.expect("register").into_inner();
    let shown = format!("{inst:?}");
    assert!(!shown.contains("Secret"), "{shown}");
    let p = inst.proxy.clone().expect("proxy");
    assert!(p.has_password && p.password.is_empty());
    assert_eq!(
        (inst.api_url.as_str(), inst.max_accounts, inst.region.as_str()),
        ("http://10.0.0.5:7070", 5, "cn-east")
    );
    assert_eq!(inst.status, pb::InstanceStatus::Active as i32);

    let update = pb::UpdateInstanceRequest {
        id: inst.id.clone(),
        max_accounts: Some(7),
        status: pb::InstanceStatus::Draining as i32,
        ..Default::default()
    };
    let updated = app.instances().update_instance(authed(&app.admin, update)).await.expect("update").into_inner();
    assert_eq!((updated.max_accounts, updated.status), (7, pb::InstanceStatus::Draining as i32));
    assert!(updated.proxy.expect("proxy kept").has_password);
    let read = app.get_instance(&inst.id).await;
    assert_eq!((read.max_accounts, read.status), (7, pb::InstanceStatus::Draining as i32));
    let missing = pb::UpdateInstanceRequest { id: "nope".into(), ..Default::default() };
    assert_code(app.instances().update_instance(authed(&app.admin, missing)).await, Code::NotFound);
}

#[tokio::test]
async fn a_restarted_instance_sends_its_accounts_to_recovery() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, _guid) = app.online_account(&t, "On sim").await;
    let beat = |boot: &str| pb::InstanceHeartbeatRequest {
        id: app.instance.id.clone(),
        boot_id: boot.into(),
        version: "1.0".into(),
        ..Default::default()
    };
    let first = app.instances().instance_heartbeat(authed(&app.admin, beat("boot-a"))).await.expect("beat");
    assert_eq!(first.into_inner().restart_count, 0);
    app.instances().instance_heartbeat(authed(&app.admin, beat("boot-a"))).await.expect("same boot");
    assert_eq!(status(app.get(&t, &account.id).await.status), Online);

    let restarted = app.instances().instance_heartbeat(authed(&app.admin, beat("boot-b"))).await.expect("new boot");
    let restarted = restarted.into_inner();
    assert_eq!((restarted.restart_count, restarted.version.as_str()), (1, "1.0"));
    let offline = app.get(&t, &account.id).await;
    assert_eq!(status(offline.status), Offline);
    let last = app.transitions(&t, &account.id).await.pop().expect("change");
    assert_eq!(last, (Online, Offline, "auto".to_owned()));
    assert_eq!(app.tick().await.restored, 1, "recovery was scheduled");
    assert_eq!(status(app.get(&t, &account.id).await.status), Online);
}

#[tokio::test]
async fn logins_go_where_there_is_room() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let full = pb::UpdateInstanceRequest { id: app.instance.id.clone(), max_accounts: Some(1), ..Default::default() };
    app.instances().update_instance(authed(&app.admin, full)).await.expect("shrink");
    let first = app.create(&t, "First").await;
    let second = app.create(&t, "Second").await;
    let login = app.start_login(&t, &first.id).await.expect("first login").account.expect("account");
    assert_eq!(login.instance_id, app.instance.id);

    let err = assert_code(app.start_login(&t, &second.id).await, Code::ResourceExhausted);
    assert!(!err.message().contains("127.0.0.1"), "{err:?}");
    assert_eq!(status(app.get(&t, &second.id).await.status), Created);

    let other_sim = start_sim().await;
    let other = app.register(&other_sim, "sim-2", 1).await;
    let login = app.start_login(&t, &second.id).await.expect("second login").account.expect("account");
    assert_eq!(login.instance_id, other.id);
    assert_eq!(other_sim.guids(), vec![login.guid]);
    assert_eq!(app.get_instance(&other.id).await.account_count, 1);
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 1);

    // Deleting an account gives its slot back.
    app.accounts().delete_account(authed(&t.token, pb::DeleteAccountRequest { id: first.id })).await.expect("delete");
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 0);
}

#[tokio::test]
async fn a_disabled_instance_hands_its_accounts_elsewhere_on_the_next_login() {
    let app = spawn_app().await;
    let t = app.tenant("acme", 10).await;
    let (account, guid) = app.online_account(&t, "Mover").await;
    app.accounts().logout(authed(&t.token, pb::LogoutRequest { id: account.id.clone() })).await.expect("logout");
    let disable = pb::UpdateInstanceRequest {
        id: app.instance.id.clone(),
        status: pb::InstanceStatus::Disabled as i32,
        ..Default::default()
    };
    app.instances().update_instance(authed(&app.admin, disable)).await.expect("disable");
    assert_code(app.start_login(&t, &account.id).await, Code::ResourceExhausted);

    let other_sim = start_sim().await;
    let other = app.register(&other_sim, "sim-2", 0).await;
    let moved = app.start_login(&t, &account.id).await.expect("login elsewhere").account.expect("account");
    assert_eq!(moved.instance_id, other.id);
    assert_ne!(moved.guid, guid, "a new client on the new instance");
    assert_eq!(other_sim.guids(), vec![moved.guid]);
    assert_eq!(app.get_instance(&app.instance.id).await.account_count, 0);
    assert_eq!(app.get_instance(&other.id).await.account_count, 1);
}
