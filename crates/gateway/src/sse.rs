//! `GET /api/v1/events/stream`: the caller's tenant events as Server-Sent
//! Events, so a front end (the QR login page) sees an account go online
//! without polling. Best effort and live only — the durable copy is the
//! tenant webhook. The stream opens with a `ready` event once the
//! subscription is in place: events announced after it are delivered.
//!
//! Browsers' `EventSource` cannot set headers, so this one route also takes
//! the access token as `?access_token=`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use tonic::Code;
use wework_kit::events::{LiveError, to_json};

use crate::problem::Problem;
use crate::router::{AppState, RequestContext};

pub const PATH: &str = "/api/v1/events/stream";

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamQuery {
    /// Comma-separated type prefixes, e.g. `account.,message.delivered`.
    pub types: Option<String>,
    /// Platform administrators may watch another tenant.
    pub tenant_id: Option<String>,
    pub access_token: Option<String>,
}

pub async fn stream(
    State(app): State<AppState>,
    cx: RequestContext,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let problem = |p: Problem| p.with_request_id(&cx.request_id).into_response();
    let Ok(Query(query)) = query else {
        return problem(Problem::invalid("query", "accepts types, tenant_id and access_token only"));
    };
    let caller = match app.auth.authenticate(&headers, query.access_token.as_deref()).await {
        Ok(c) => c,
        Err(p) => return problem(p),
    };
    if let Err(p) = app.limit_principal(&caller).await {
        return problem(p);
    }
    let tenant = match query.tenant_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t != caller.principal.tenant_id && !caller.principal.is_super_admin() => {
            return problem(Problem::new(
                Code::PermissionDenied,
                "tenant_id: only platform administrators watch another tenant",
            ));
        }
        Some(t) => t.to_owned(),
        None => caller.principal.tenant_id.clone(),
    };
    let prefixes: Vec<String> = query
        .types
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let events = match app.live.subscribe(&tenant).await {
        Ok(events) => events,
        Err(LiveError::NoTenant) => return problem(Problem::invalid("tenant_id", "required for this caller")),
        Err(LiveError::Unavailable) => {
            return problem(Problem::new(Code::Unavailable, "live events are unavailable; retry later"));
        }
    };
    metrics::gauge!("gateway_sse_streams").increment(1.0);
    let guard = StreamGuard;
    let ready = SseEvent::default().event("ready").data(serde_json::json!({ "tenant_id": tenant }).to_string());
    let body = futures::stream::once(async move { Ok::<_, Infallible>(ready) }).chain(
        events
            .filter(move |e| {
                let keep = prefixes.is_empty() || prefixes.iter().any(|p| e.r#type.starts_with(p.as_str()));
                std::future::ready(keep)
            })
            .map(move |e| {
                let _alive = &guard;
                Ok(SseEvent::default().event(e.r#type.clone()).id(e.id.clone()).data(to_json(&e).to_string()))
            }),
    );
    let body = body.take_until(app.stopping.clone().cancelled_owned());
    let keepalive = Duration::from_secs(app.settings.gateway.sse_keepalive_secs);
    Sse::new(body).keep_alive(KeepAlive::new().interval(keepalive)).into_response()
}

/// Counts open streams down when the client goes away.
struct StreamGuard;

impl Drop for StreamGuard {
    fn drop(&mut self) {
        metrics::gauge!("gateway_sse_streams").decrement(1.0);
    }
}
