//! The HTTP surface: the REST routes of [`crate::routes`], the event stream,
//! the OpenAPI document and Swagger UI, behind one front door that assigns
//! the request id, parents the trace on the caller's `traceparent`, applies
//! the per-IP limit and records `gateway_http_requests_total` /
//! `gateway_http_request_duration_seconds` by route template.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use wework_kit::events::LiveEvents;
use wework_kit::ratelimit::{Decision, Rate, SharedRateLimiter};
use wework_kit::telemetry::{REQUEST_ID_HEADER, parent_context, request_id_from, scope_request_id};

use crate::auth::{API_KEY_HEADER, Auth, Caller};
use crate::convert::{self, ClientInfo, Inputs};
use crate::limits::{RateLimiter, retry_after_secs};
use crate::problem::Problem;
use crate::routes::Route;
use crate::rpc::{Backends, CallContext, Method as RpcMethod};
use crate::settings::Settings;
use crate::{openapi, sse};

/// A route and the RPC it calls, resolved at start.
#[derive(Debug)]
pub struct Bound {
    pub route: Route,
    pub method: RpcMethod,
}

/// Shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub settings: Arc<Settings>,
    pub backends: Backends,
    pub auth: Auth,
    pub live: LiveEvents,
    /// Cancelled when the gateway begins to shut down: open event streams end,
    /// so the graceful drain is not held up by clients that never hang up.
    pub stopping: tokio_util::sync::CancellationToken,
    /// In process, before authentication: cheap, and an unauthenticated flood
    /// never reaches Redis (an ingress's own per-IP limit belongs in front).
    per_ip: RateLimiter,
    /// Shared by every gateway replica through Redis (per replica without it).
    per_principal: SharedRateLimiter,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        settings: Arc<Settings>,
        backends: Backends,
        auth: Auth,
        live: LiveEvents,
        per_principal: SharedRateLimiter,
    ) -> Self {
        let g = &settings.gateway;
        let per_ip = RateLimiter::new(g.per_ip_rps, g.per_ip_burst);
        let stopping = tokio_util::sync::CancellationToken::new();
        Self(Arc::new(Inner { settings, backends, auth, live, stopping, per_ip, per_principal }))
    }

    /// The per-principal bucket; 429 with `Retry-After` when empty.
    pub async fn limit_principal(&self, caller: &Caller) -> Result<(), Problem> {
        let g = &self.settings.gateway;
        let rate = Rate { per_sec: g.per_principal_rps, burst: g.per_principal_burst };
        match self.per_principal.check(&caller.bucket, rate).await {
            Decision::Allowed => Ok(()),
            Decision::Wait(wait) => {
                metrics::counter!("gateway_rate_limited_total", "scope" => "principal").increment(1);
                Err(Problem::too_many_requests(retry_after_secs(wait)))
            }
        }
    }
}

/// What the front door learned about a request, for handlers.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: IpAddr,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| Problem::new(tonic::Code::Internal, "no request context"))
    }
}

/// The whole application: API routes, event stream, docs.
pub fn build(state: AppState, bound: Vec<Bound>) -> Router {
    let spec = openapi::document(&bound);
    let mut by_path: BTreeMap<String, MethodRouter<AppState>> = BTreeMap::new();
    for b in bound {
        let filter = match MethodFilter::try_from(b.route.method.clone()) {
            Ok(f) => f,
            Err(_) => continue,
        };
        let path = b.route.full_path();
        let bound = Arc::new(b);
        let handler = move |state: State<AppState>,
                            cx: RequestContext,
                            params: Path<Vec<(String, String)>>,
                            query: Query<Vec<(String, String)>>,
                            headers: HeaderMap,
                            body: axum::body::Body| {
            let bound = bound.clone();
            async move { proxy(state, bound, cx, params, query, headers, body).await }
        };
        let entry = by_path.remove(&path).unwrap_or_default();
        by_path.insert(path, entry.merge(on(filter, handler)));
    }
    let mut api = Router::new();
    for (path, methods) in by_path {
        api = api.route(&path, methods);
    }
    api = api.route(sse::PATH, get(sse::stream));
    let cors = cors_layer(&state.settings.gateway.cors_origins());
    let docs = Router::from(utoipa_swagger_ui::SwaggerUi::new("/docs").url(openapi::PATH, spec));
    let app = api
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|cx: RequestContext| async move {
            Problem::http(StatusCode::NOT_FOUND, "no such route").with_request_id(&cx.request_id)
        })
        .method_not_allowed_fallback(|cx: RequestContext| async move {
            Problem::http(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this route")
                .with_request_id(&cx.request_id)
        })
        .with_state(state.clone())
        .merge(docs);
    let app = app.layer(axum::middleware::from_fn_with_state(state, front_door));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

async fn proxy(
    State(app): State<AppState>,
    bound: Arc<Bound>,
    cx: RequestContext,
    Path(params): Path<Vec<(String, String)>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let timeout = Duration::from_millis(app.settings.gateway.request_timeout_ms);
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, async {
        let authorization = if bound.route.public {
            None
        } else {
            let caller = app.auth.authenticate(&headers, None).await?;
            app.limit_principal(&caller).await?;
            Some(caller.authorization)
        };
        let g = &app.settings.gateway;
        let limit = if bound.route.large_body { g.import_body_bytes } else { g.max_body_bytes };
        let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
            Problem::http(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes"))
        })?;
        let client = bound.route.client_info.then(|| ClientInfo {
            ip: cx.client_ip.to_string(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .chars()
                .take(512)
                .collect(),
        });
        let inputs = Inputs { path: params, query, body, client };
        let request = convert::request(&bound.method.input, bound.route.body, inputs)?;
        let deadline = timeout.saturating_sub(started.elapsed());
        let call = CallContext { authorization, request_id: cx.request_id.clone(), deadline };
        let reply = app.backends.call(&bound.method, request, &call).await.map_err(|s| Problem::from_status(&s))?;
        let json = convert::response(&bound.method.output, &reply).map_err(|e| {
            tracing::error!(rpc = bound.route.rpc, error = %e, "response does not render as JSON");
            Problem::new(tonic::Code::Internal, "internal error")
        })?;
        Ok::<_, Problem>(json)
    })
    .await;
    match outcome {
        Ok(Ok(json)) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response(),
        Ok(Err(p)) => p.with_request_id(&cx.request_id).into_response(),
        Err(_) => Problem::http(StatusCode::GATEWAY_TIMEOUT, "the request took too long")
            .with_request_id(&cx.request_id)
            .into_response(),
    }
}

/// Request id, trace span, per-IP limit and metrics for every request.
async fn front_door(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = request_id_from(req.headers());
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client_ip = client_ip(req.headers(), peer, app.settings.gateway.trust_forwarded_for);
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "http",
        http.method = %method,
        http.route = %route,
        request_id = %request_id,
        otel.kind = "server",
        http.status_code = tracing::field::Empty,
    );
    // Fails only when no OpenTelemetry layer is installed: nothing to parent then.
    let _ = span.set_parent(parent_context(req.headers()));
    req.extensions_mut().insert(RequestContext { request_id: request_id.clone(), client_ip });
    let started = Instant::now();
    let mut res = match app.per_ip.check(&client_ip.to_string()) {
        Err(wait) if method != Method::OPTIONS => {
            metrics::counter!("gateway_rate_limited_total", "scope" => "ip").increment(1);
            Problem::too_many_requests(retry_after_secs(wait)).with_request_id(&request_id).into_response()
        }
        _ => scope_request_id(request_id.clone(), next.run(req)).instrument(span.clone()).await,
    };
    let status = res.status().as_u16();
    span.record("http.status_code", status);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let labels = [("route", route), ("method", method.to_string()), ("status", status.to_string())];
    metrics::counter!("gateway_http_requests_total", &labels).increment(1);
    metrics::histogram!("gateway_http_request_duration_seconds", "route" => labels[0].1.clone())
        .record(started.elapsed().as_secs_f64());
    res
}

/// The peer address, or the first `X-Forwarded-For` hop when trusted.
fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = || {
        let value = headers.get("x-forwarded-for")?.to_str().ok()?;
        value.split(',').next()?.trim().parse::<IpAddr>().ok()
    };
    let fallback = IpAddr::from([0, 0, 0, 0]);
    if trust_forwarded_for { forwarded().or(peer).unwrap_or(fallback) } else { peer.unwrap_or(fallback) }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let request_headers = [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static(API_KEY_HEADER),
        HeaderName::from_static(REQUEST_ID_HEADER),
        HeaderName::from_static("traceparent"),
    ];
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers(request_headers)
            .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER), header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7, 10.0.0.1"));
        let peer = Some(IpAddr::from([10, 0, 0, 9]));
        assert_eq!(client_ip(&headers, peer, false), IpAddr::from([10, 0, 0, 9]));
        assert_eq!(client_ip(&headers, peer, true), IpAddr::from([203, 0, 113, 7]));
        assert_eq!(client_ip(&HeaderMap::new(), peer, true), IpAddr::from([10, 0, 0, 9]));
    }
}
