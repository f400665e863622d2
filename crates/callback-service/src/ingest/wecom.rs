//! `GET|POST /v1/callbacks/wecom/{app_id}`: an official WeCom app's callbacks
//! (WXBizMsgCrypt). GET answers WeCom's URL check with the decrypted
//! `echostr`, exactly; POST takes an encrypted XML message, checks its
//! `msg_signature`, decrypts it (receive id = the app's corp id), stores the
//! decrypted XML for processing and answers `success`. Bad signature,
//! padding or receive id → 401 and nothing stored; unknown or disabled app →
//! 404.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{answer, source_ip, unavailable, user_agent};
use crate::domain::dedup::{self, DedupWindow};
use crate::domain::routing;
use crate::domain::wecom_crypto::{WecomCrypto, WecomCryptoError};
use crate::domain::wecom_xml::{self, XmlError};
use crate::state::AppState;
use crate::store::{self, NewEvent, new_id};

type Params = Query<HashMap<String, String>>;

pub async fn verify_url(State(state): State<AppState>, Path(app_id): Path<String>, Query(q): Params) -> Response {
    let (_, crypto) = match load(&state, &app_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let p = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if p("msg_signature").is_empty() || p("timestamp").is_empty() || p("nonce").is_empty() || p("echostr").is_empty() {
        return answer(StatusCode::BAD_REQUEST, "rejected", "msg_signature, timestamp, nonce and echostr are required");
    }
    match crypto.verify_url(p("msg_signature"), p("timestamp"), p("nonce"), p("echostr")) {
        Ok(echo) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response(),
        Err(e) => refused(e),
    }
}

pub async fn receive(
    State(state): State<AppState>,
    Path(app_id): Path<String>,
    Query(q): Params,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let response = handle(&state, &app_id, &q, peer, &headers, &body).await;
    metrics::histogram!("callback_ingest_seconds", "source" => "wecom").record(started.elapsed().as_secs_f64());
    metrics::counter!("callback_ingest_total", "source" => "wecom", "code" => response.status().as_str().to_owned())
        .increment(1);
    response
}

async fn handle(
    state: &AppState,
    app_id: &str,
    q: &HashMap<String, String>,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let (app, crypto) = match load(state, app_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let p = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let Ok(body) = std::str::from_utf8(body) else {
        return answer(StatusCode::BAD_REQUEST, "rejected", "body is not UTF-8");
    };
    let outer = match wecom_xml::parse(body) {
        Ok(fields) => fields,
        Err(e) => return answer(StatusCode::BAD_REQUEST, "rejected", xml_problem(&e)),
    };
    let Some(encrypted) = outer.get("Encrypt").filter(|e| !e.trim().is_empty()) else {
        return answer(StatusCode::BAD_REQUEST, "rejected", "no <Encrypt> element");
    };
    let xml = match crypto.decrypt(p("msg_signature"), p("timestamp"), p("nonce"), encrypted.trim()) {
        Ok(xml) => xml,
        Err(e) => return refused(e),
    };
    let fields = match wecom_xml::parse(&xml) {
        Ok(fields) => fields,
        Err(e) => return answer(StatusCode::BAD_REQUEST, "rejected", xml_problem(&e)),
    };
    let now = state.clock.now();
    let window = DedupWindow::from_secs(state.settings.ingest.dedup_window_secs).unwrap_or_default();
    let corp: String = fields.get("ToUserName").unwrap_or(&app.corp_id).chars().take(100).collect();
    let event = NewEvent {
        id: new_id(),
        tenant_id: Some(app.tenant_id.clone()),
        account_id: None,
        guid: corp,
        notify_type: 0,
        event_type: routing::wecom_event_type(fields.get("MsgType"), fields.get("Event")),
        source: "wecom",
        app_id: Some(app.id.clone()),
        dedup_key: dedup::wecom_key(&app.id, &fields, &xml, now.timestamp(), window).into_string(),
        order_key: None,
        raw_data: xml,
        rejected: None,
        received_time: now,
        source_ip: Some(source_ip(headers, peer)),
        user_agent: user_agent(headers),
    };
    match state.writer.store(event).await {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "success").into_response(),
        Err(e) => unavailable(&e),
    }
}

/// The app and its crypto, or the answer when there is none to use.
async fn load(state: &AppState, app_id: &str) -> Result<(store::entity::app::Model, WecomCrypto), Response> {
    let not_found = || answer(StatusCode::NOT_FOUND, "not_found", "no such app");
    if app_id.len() > 36 {
        return Err(not_found());
    }
    let app = match store::apps::find_app(state.db.reader(), None, app_id).await {
        Ok(Some(app)) if app.status == "active" => app,
        Ok(_) => return Err(not_found()),
        Err(e) => {
            tracing::warn!(error = %e, "WeCom app lookup failed; answered 503");
            return Err(answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again"));
        }
    };
    let unseal = |sealed: &str| state.secrets.decrypt(sealed).ok().and_then(|b| String::from_utf8(b).ok());
    let crypto = unseal(&app.token_sealed)
        .zip(unseal(&app.aes_key_sealed))
        .and_then(|(token, key)| WecomCrypto::new(&token, &key, &app.corp_id).ok());
    match crypto {
        Some(crypto) => Ok((app, crypto)),
        None => {
            // Sealed with another master key, or corrupted: an operator must look.
            tracing::error!(app = %app.id, "WeCom app secrets cannot be unsealed");
            Err(answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "app is misconfigured"))
        }
    }
}

fn refused(e: WecomCryptoError) -> Response {
    metrics::counter!("callback_ingest_refused_total", "why" => format!("{e:?}")).increment(1);
    answer(StatusCode::UNAUTHORIZED, "unauthorized", &e.to_string())
}

fn xml_problem(e: &XmlError) -> &'static str {
    match e {
        XmlError::TooLarge => "XML body too large",
        XmlError::DocType => "a DOCTYPE is not allowed",
        XmlError::UnknownEntity(_) => "unknown XML entity",
        XmlError::DuplicateField(_) => "a field appears twice",
        XmlError::TooDeep => "elements nested too deep",
        XmlError::Malformed(_) | XmlError::NoRoot => "malformed XML",
    }
}
