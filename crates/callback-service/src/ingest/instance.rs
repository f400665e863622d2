//! `POST /v1/callbacks/instance`: an instance's signed callback.
//!
//! Order of checks: the body must be a `{guid, notify_type, data}` envelope
//! (else 400, not stored: without a guid nobody can vouch for it); the
//! signature must match the guid's instance token within the timestamp
//! tolerance (else 401, not stored); then it is stored and answered 200 —
//! or, when its data does not fit its known notify type, stored as `failed`
//! for diagnosis and answered 400 with the reason.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use wework_client::callback::{self, CallbackEnvelope, ParseError, SignatureError};

use super::{answer, source_ip, unavailable, user_agent};
use crate::domain::dedup::{self, DedupWindow};
use crate::domain::routing;
use crate::integrations::{InstanceIdentity, Lookup};
use crate::state::AppState;
use crate::store::{NewEvent, new_id};

pub const HEADER_TIMESTAMP: &str = "x-wework-timestamp";
pub const HEADER_SIGNATURE: &str = "x-wework-signature";
pub const HEADER_CALLBACK_ID: &str = "x-wework-callback-id";

/// Longest guid accepted (the column's width).
const MAX_GUID: usize = 100;

pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = std::time::Instant::now();
    let response = handle(&state, peer, &headers, &body).await;
    metrics::histogram!("callback_ingest_seconds", "source" => "instance").record(started.elapsed().as_secs_f64());
    metrics::counter!("callback_ingest_total", "source" => "instance", "code" => response.status().as_str().to_owned())
        .increment(1);
    response
}

async fn handle(state: &AppState, peer: SocketAddr, headers: &HeaderMap, body: &[u8]) -> Response {
    let mut envelope: CallbackEnvelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => {
            // The category only: serde's message may quote the body.
            let reason = match e.classify() {
                serde_json::error::Category::Data => "body is JSON but not a {guid, notify_type, data} envelope",
                _ => "body is not JSON",
            };
            return answer(StatusCode::BAD_REQUEST, "rejected", reason);
        }
    };
    envelope.guid = envelope.guid.trim().to_owned();
    let guid = envelope.guid.as_str();
    if guid.is_empty() || guid.len() > MAX_GUID || guid.chars().any(char::is_control) {
        return answer(StatusCode::BAD_REQUEST, "rejected", "guid must be 1 to 100 printable characters");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let identity = match authenticate(state, guid, header(HEADER_TIMESTAMP), header(HEADER_SIGNATURE), body).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let now = state.clock.now();
    let window = DedupWindow::from_secs(state.settings.ingest.dedup_window_secs).unwrap_or_default();
    let callback_id = Some(header(HEADER_CALLBACK_ID)).filter(|id| !id.is_empty());
    let rejected = match envelope.event() {
        Err(e @ ParseError::Malformed { .. }) => Some(e.to_string()),
        _ => None,
    };
    let event = NewEvent {
        id: new_id(),
        tenant_id: Some(identity.tenant_id.clone()),
        account_id: Some(identity.account_id.clone()),
        guid: guid.to_owned(),
        notify_type: envelope.notify_type,
        event_type: routing::event_type(envelope.notify_type),
        source: "instance",
        app_id: None,
        dedup_key: dedup::instance_key(&envelope, callback_id, now.timestamp(), window).into_string(),
        order_key: routing::is_ordered(envelope.notify_type).then(|| guid.to_owned()),
        // Parsed from JSON, so valid UTF-8.
        raw_data: String::from_utf8_lossy(body).into_owned(),
        rejected: rejected.clone(),
        received_time: now,
        source_ip: Some(source_ip(headers, peer)),
        user_agent: user_agent(headers),
    };
    if let Err(e) = state.writer.store(event).await {
        return unavailable(&e);
    }
    match rejected {
        Some(reason) => answer(StatusCode::BAD_REQUEST, "rejected", &reason),
        None => answer(StatusCode::OK, "ok", ""),
    }
}

/// The guid's identity when the signature is its instance's; else the 401
/// (or 503 when the account service cannot be asked).
async fn authenticate(
    state: &AppState,
    guid: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<Arc<InstanceIdentity>, Response> {
    let tolerance = state.settings.ingest.signature_tolerance_secs;
    let refused = |why: &str| {
        metrics::counter!("callback_ingest_refused_total", "why" => why.to_owned()).increment(1);
        answer(StatusCode::UNAUTHORIZED, "unauthorized", "signature not accepted")
    };
    for fresh in [false, true] {
        if fresh {
            // The token may have been rotated since it was cached.
            state.instances.forget(guid);
        }
        let identity = match state.instances.resolve(guid).await {
            Ok(Lookup::Known(identity)) => identity,
            Ok(Lookup::Unknown) => return Err(refused("unknown_guid")),
            Err(_) => {
                return Err(answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "cannot check the signature right now; send it again",
                ));
            }
        };
        let now = state.clock.now().timestamp();
        match callback::verify(identity.token(), timestamp, signature, body, now, tolerance) {
            Ok(()) => return Ok(identity),
            Err(SignatureError::Mismatch) if !fresh => continue,
            Err(SignatureError::Mismatch) => return Err(refused("mismatch")),
            Err(SignatureError::Stale) => return Err(refused("stale")),
            Err(SignatureError::Malformed) => return Err(refused("malformed")),
        }
    }
    Err(refused("mismatch"))
}
