//! HTTP ingest on the service's HTTP port:
//! - `POST /v1/callbacks/instance` — the instance protocol's signed
//!   `{guid, notify_type, data}` callbacks ([`instance`]);
//! - `GET|POST /v1/callbacks/wecom/{app_id}` — official WeCom callbacks of a
//!   registered app: URL verification and encrypted XML ([`wecom`]).
//!
//! Contract: a 200 means the callback is committed (as `received`, or as a
//! copy of one already stored); 401 = not signed by its sender, nothing
//! stored; 400 = malformed, with the reason (stored for diagnosis only when
//! its signature was good); 413 = larger than `ingest.max_body_bytes`;
//! 503 = cannot store right now, send again. Answers carry a short JSON
//! (or WeCom's plain text) and never an internal error.

pub mod instance;
pub mod wecom;
pub mod writer;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;

pub const INSTANCE_PATH: &str = "/v1/callbacks/instance";
pub const WECOM_PATH: &str = "/v1/callbacks/wecom/{app_id}";

/// The ingest routes, for the kit's HTTP port.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.ingest.max_body_bytes;
    Router::new()
        .route(INSTANCE_PATH, post(instance::receive))
        .route(WECOM_PATH, get(wecom::verify_url).post(wecom::receive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// A JSON answer `{"status": …, "reason": …}`.
pub(crate) fn answer(code: StatusCode, status: &str, reason: &str) -> Response {
    let mut body = serde_json::json!({ "status": status });
    if !reason.is_empty() {
        body["reason"] = serde_json::Value::String(reason.to_owned());
    }
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Where the callback came from: the first `X-Forwarded-For` hop when a
/// proxy set one, else the peer address.
pub(crate) fn source_ip(headers: &HeaderMap, peer: SocketAddr) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map_or_else(|| peer.ip().to_string(), str::to_owned)
}

pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(512).collect())
}

/// 503 for a store failure, logged without the callback's content.
pub(crate) fn unavailable(e: &writer::WriteError) -> Response {
    match e {
        writer::WriteError::Overloaded => metrics::counter!("callback_ingest_shed_total").increment(1),
        writer::WriteError::Db(err) => tracing::warn!(error = %err, "callback not stored; answered 503"),
    }
    answer(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "cannot store the callback right now; send it again")
}
