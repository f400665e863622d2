//! Official WeCom apps: registered over gRPC with their secrets sealed,
//! WeCom's URL check answered with the decrypted echostr exactly (Tencent's
//! published vector), encrypted messages (Tencent's vector and our own round
//! trip) stored and published to the tenant; a bad signature, another
//! receive id or a disabled app is refused with nothing stored.

use callback_service::domain::wecom_crypto::WecomCrypto;
use tonic::Code;
use wework_proto::callback::{GetAppRequest, ListAppsRequest, RegisterAppRequest, UpdateAppRequest, WecomApp};

use crate::helpers::{TestApp, assert_code, authed, spawn_app};
use wework_testkit::Tenant;
use wework_testkit::{Receiver, signature_valid};

const TOKEN: &str = "QDG6eK";
const CORP: &str = "wx5823bf96d3bd56c7";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const URL_SIG: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
const URL_TS: &str = "1409659589";
const URL_NONCE: &str = "263014780";
const URL_ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const MSG_SIG: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
const MSG_TS: &str = "1409659813";
const MSG_NONCE: &str = "1372623149";
const MSG_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

async fn register(app: &TestApp, t: &Tenant, name: &str, corp: &str) -> WecomApp {
    let req = RegisterAppRequest {
        name: name.into(),
        corp_id: corp.into(),
        agent_id: 218,
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
    };
    app.apps().register_app(authed(&t.token, req)).await.expect("register app").into_inner()
}

fn url(app: &TestApp, registered: &WecomApp) -> String {
    format!("{}{}", app.http, registered.callback_path)
}

/// `url?k=v&…` with the values percent-encoded (base64 has `+`, `/`, `=`).
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let encode = |v: &str| v.replace('%', "%25").replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    format!("{url}?{}", query.join("&"))
}

fn envelope(encrypted: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

async fn post(app: &TestApp, registered: &WecomApp, sig: &str, ts: &str, nonce: &str, body: String) -> (u16, String) {
    let resp = app
        .client
        .post(with_query(&url(app, registered), &[("msg_signature", sig), ("timestamp", ts), ("nonce", nonce)]))
        .body(body)
        .send()
        .await
        .expect("post");
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn wecom_rows(app: &TestApp) -> Vec<callback_service::store::entity::event::Model> {
    app.stored().await.into_iter().filter(|e| e.source == "wecom").collect()
}

#[tokio::test]
async fn the_url_check_answers_tencents_echostr_exactly() {
    let app = spawn_app().await;
    let t = app.tenant("wecom-url").await;
    let registered = register(&app, &t, "crm", CORP).await;
    let check = |sig: &'static str| {
        app.client
            .get(with_query(
                &url(&app, &registered),
                &[("msg_signature", sig), ("timestamp", URL_TS), ("nonce", URL_NONCE), ("echostr", URL_ECHOSTR)],
            ))
            .send()
    };
    let ok = check(URL_SIG).await.expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.expect("body"), "1616140317555161061");
    let bad = check("0000000000000000000000000000000000000000").await.expect("get");
    assert_eq!(bad.status().as_u16(), 401);
}

#[tokio::test]
async fn tencents_message_vector_and_a_round_trip_are_stored_and_published() {
    let app = spawn_app().await;
    let t = app.tenant("wecom-msg").await;
    let receiver = Receiver::start().await;
    let whsec = app.tasks.set_webhook(&t.token, &receiver.url).await;
    let registered = register(&app, &t, "crm", CORP).await;

    let (status, body) = post(&app, &registered, MSG_SIG, MSG_TS, MSG_NONCE, envelope(MSG_ENCRYPT)).await;
    assert_eq!((status, body.as_str()), (200, "success"));
    // Ours, with a random prefix, as WeCom would send an event.
    let crypto = WecomCrypto::new(TOKEN, AES_KEY, CORP).expect("crypto");
    let xml = format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>create_user</ChangeType></xml>"
    );
    let (encrypted, sig) = crypto.encrypt(&xml, "1700000000", "nonce-1").expect("encrypt");
    let (status, _) = post(&app, &registered, &sig, "1700000000", "nonce-1", envelope(&encrypted)).await;
    assert_eq!(status, 200);
    // WeCom re-sends: stored once.
    let (status, _) = post(&app, &registered, MSG_SIG, MSG_TS, MSG_NONCE, envelope(MSG_ENCRYPT)).await;
    assert_eq!(status, 200);

    let rows = wecom_rows(&app).await;
    let types: Vec<&str> = rows.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["text", "event.change_contact"]);
    assert!(rows[0].raw_data.contains("<Content><![CDATA[hello]]></Content>"), "decrypted XML kept");
    assert!(rows.iter().all(|e| e.tenant_id.as_deref() == Some(t.id.as_str())));
    app.process_until(|| async { wecom_rows(&app).await.iter().all(|e| e.status == "processed").then_some(()) }).await;
    let got = crate::helpers::wait_for_delivery(&receiver, "wecom.text").await;
    assert!(signature_valid(&got, &whsec));
    assert_eq!(got.json()["data"]["fields"]["MsgId"], "4561255354251345929");
    crate::helpers::wait_for_delivery(&receiver, "wecom.event.change_contact").await;
}

#[tokio::test]
async fn a_bad_signature_another_receive_id_or_a_disabled_app_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let t = app.tenant("wecom-bad").await;
    let registered = register(&app, &t, "crm", CORP).await;
    let (status, _) = post(&app, &registered, "0".repeat(40).as_str(), MSG_TS, MSG_NONCE, envelope(MSG_ENCRYPT)).await;
    assert_eq!(status, 401);
    // Tampered ciphertext (signature recomputed with the token: a forger would need it).
    let crypto = WecomCrypto::new(TOKEN, AES_KEY, CORP).expect("crypto");
    let tampered = MSG_ENCRYPT.replacen('R', "S", 1);
    let sig = crypto.signature(MSG_TS, MSG_NONCE, &tampered);
    let (status, _) = post(&app, &registered, &sig, MSG_TS, MSG_NONCE, envelope(&tampered)).await;
    assert_eq!(status, 401);

    let other = register(&app, &t, "other-corp", "wwOtherCorp").await;
    let (status, body) = post(&app, &other, MSG_SIG, MSG_TS, MSG_NONCE, envelope(MSG_ENCRYPT)).await;
    assert_eq!(status, 401);
    assert!(body.contains("receive id"), "{body}");

    let disable = UpdateAppRequest { id: registered.id.clone(), status: "disabled".into(), ..Default::default() };
    app.apps().update_app(authed(&t.token, disable)).await.expect("disable");
    let (status, _) = post(&app, &registered, MSG_SIG, MSG_TS, MSG_NONCE, envelope(MSG_ENCRYPT)).await;
    assert_eq!(status, 404);
    assert!(wecom_rows(&app).await.is_empty());
}

#[tokio::test]
async fn apps_are_validated_sealed_and_confined_to_their_tenant() {
    let app = spawn_app().await;
    let t = app.tenant("wecom-apps").await;
    let other = app.tenant("wecom-other").await;
    let bad = RegisterAppRequest {
        name: String::new(),
        corp_id: "bad corp!".into(),
        agent_id: -1,
        token: "x".into(),
        encoding_aes_key: "short".into(),
    };
    let status = assert_code(app.apps().register_app(authed(&t.token, bad)).await, Code::InvalidArgument);
    for field in ["name", "corp_id", "agent_id", "token", "encoding_aes_key"] {
        assert!(status.message().contains(field), "{field} named in {}", status.message());
    }
    let registered = register(&app, &t, "crm", CORP).await;
    assert_eq!(registered.callback_path, format!("/v1/callbacks/wecom/{}", registered.id));
    let dup = RegisterAppRequest {
        name: "crm".into(),
        corp_id: "wwAnother".into(),
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
        ..Default::default()
    };
    assert_code(app.apps().register_app(authed(&t.token, dup)).await, Code::AlreadyExists);
    let same_agent = RegisterAppRequest {
        name: "crm-2".into(),
        corp_id: CORP.into(),
        agent_id: 218,
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
    };
    assert_code(app.apps().register_app(authed(&t.token, same_agent)).await, Code::AlreadyExists);

    // Secrets are stored sealed, never in clear.
    let row = callback_service::store::apps::find_app(app.state.db.reader(), None, &registered.id)
        .await
        .expect("find")
        .expect("app");
    assert!(!row.token_sealed.contains(TOKEN) && !row.aes_key_sealed.contains(AES_KEY));
    assert!(!format!("{row:?}").contains("sealed"), "Debug shows no secrets");

    let get = GetAppRequest { id: registered.id.clone() };
    assert_code(app.apps().get_app(authed(&other.token, get.clone())).await, Code::NotFound);
    assert_eq!(app.apps().get_app(authed(&t.token, get)).await.expect("get").into_inner().name, "crm");
    let mine = app.apps().list_apps(authed(&t.token, ListAppsRequest::default())).await.expect("list").into_inner();
    assert_eq!(mine.apps.len(), 1);
    let theirs = app.apps().list_apps(authed(&other.token, ListAppsRequest::default())).await.expect("list");
    assert!(theirs.into_inner().apps.is_empty());
    let bad_status = UpdateAppRequest { id: registered.id.clone(), status: "paused".into(), ..Default::default() };
    let status = assert_code(app.apps().update_app(authed(&t.token, bad_status)).await, Code::InvalidArgument);
    assert!(status.message().contains("status"));
}
