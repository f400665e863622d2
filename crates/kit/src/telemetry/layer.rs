//! The server-side per-RPC telemetry middleware (a tower layer for tonic's
//! `Server::builder().layer(..)`).
//!
//! Per request: pick the request id (caller's `x-request-id` if sane, else a
//! new UUIDv7), parent the `grpc` span on the caller's `traceparent`, run the
//! handler inside that span and a task-local request-id scope, echo the id in
//! the response, and record `grpc_server_requests_total{method,code}` and
//! `grpc_server_request_duration_seconds{method,code}`. An RPC dropped before it
//! answers (deadline hit, client gone) is counted with code `CANCELLED`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Request, Response};
use opentelemetry::propagation::Extractor;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::REQUEST_ID_HEADER;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The request id of the RPC, stored in the request extensions (tonic copies
/// them into `tonic::Request::extensions()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The request id of the RPC this task is serving, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The caller's `x-request-id` if sane, else a new one. For HTTP front doors
/// (the gateway) that apply the same rule as [`GrpcTelemetryLayer`].
pub fn request_id_from(headers: &HeaderMap) -> String {
    headers.get(REQUEST_ID_HEADER).and_then(accept_request_id).unwrap_or_else(new_request_id)
}

/// The trace context a caller sent (`traceparent`), to parent a server span on.
pub fn parent_context(headers: &HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Runs `fut` with `id` as [`current_request_id`], so outgoing calls carry it.
pub async fn scope_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The request id attached to a tonic request by [`GrpcTelemetryLayer`].
pub fn request_id<T>(req: &tonic::Request<T>) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcTelemetryLayer;

impl<S> tower::Layer<S> for GrpcTelemetryLayer {
    type Service = GrpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTelemetry { inner }
    }
}

#[derive(Clone, Debug)]
pub struct GrpcTelemetry<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, ResBody> tower::Service<Request<B>> for GrpcTelemetry<S>
where
    S: tower::Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = request_id_from(req.headers());
        req.extensions_mut().insert(RequestId(id.clone()));
        let method = req.uri().path().to_owned();

        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
        let span = tracing::info_span!(
            "grpc",
            rpc.method = %method,
            request_id = %id,
            otel.kind = "server",
            rpc.grpc.status_code = tracing::field::Empty,
        );
        // Fails only when no OpenTelemetry layer is installed: nothing to parent then.
        let _ = span.set_parent(parent);

        // Take the service that was driven to readiness, leave a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let echo = HeaderValue::from_str(&id).ok();
        let fut = async move {
            let mut outcome = Outcome { method, started: Instant::now(), code: None };
            let result = inner.call(req).await;
            match result {
                Ok(mut res) => {
                    outcome.code = Some(grpc_status(res.headers()));
                    if let Some(echo) = echo {
                        res.headers_mut().insert(REQUEST_ID_HEADER, echo);
                    }
                    Ok(res)
                }
                Err(e) => {
                    outcome.code = Some(2); // UNKNOWN: the connection breaks for the caller
                    Err(e)
                }
            }
        };
        Box::pin(REQUEST_ID.scope(id, fut.instrument(span)))
    }
}

/// Records the RPC's metrics and log line when it finishes — or is dropped
/// unanswered, which is why this is a drop guard and not code after `.await`.
struct Outcome {
    method: String,
    started: Instant,
    code: Option<i32>,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let code = code_name(self.code.unwrap_or(1));
        let elapsed = self.started.elapsed();
        // Unknown paths answer UNIMPLEMENTED; folding them keeps a scanner
        // from minting unbounded label values.
        let method = if code == "UNIMPLEMENTED" { "unknown".to_owned() } else { std::mem::take(&mut self.method) };
        tracing::Span::current().record("rpc.grpc.status_code", code);
        tracing::debug!(latency_ms = elapsed.as_secs_f64() * 1_000.0, code, "rpc finished");
        metrics::counter!("grpc_server_requests_total", "method" => method.clone(), "code" => code).increment(1);
        // By code too: a fast NOT_FOUND must not hide a slow OK in one histogram.
        metrics::histogram!("grpc_server_request_duration_seconds", "method" => method, "code" => code)
            .record(elapsed.as_secs_f64());
    }
}

/// A caller-supplied id is kept only if it is short printable ASCII, so it
/// cannot forge log lines or bloat every log record.
fn accept_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_owned())
}

fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Unary successes carry `grpc-status` in trailers, so its absence from the
/// headers means OK; errors are trailers-only responses with it in headers.
fn grpc_status(headers: &HeaderMap) -> i32 {
    headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Canonical gRPC code names, as other gRPC metrics exporters label them.
pub(crate) fn code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("UNKNOWN")
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{Layer, ServiceExt};

    async fn echo_id(req: Request<()>) -> Result<Response<Option<String>>, Infallible> {
        let from_ext = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        assert_eq!(from_ext, current_request_id(), "task-local matches the extension");
        Ok(Response::new(current_request_id()))
    }

    #[tokio::test]
    async fn keeps_a_sane_caller_id_and_echoes_it() {
        let svc = GrpcTelemetryLayer.layer(tower::service_fn(echo_id));
        let req = Request::builder().uri("/pkg.Svc/M").header(REQUEST_ID_HEADER, "abc-123").body(()).expect("req");
        let res = svc.oneshot(req).await.expect("infallible");
        assert_eq!(res.headers()[REQUEST_ID_HEADER], "abc-123");
        assert_eq!(res.body().as_deref(), Some("abc-123"));
    }

    #[tokio::test]
    async fn replaces_missing_or_hostile_ids_with_uuid_v7() {
        for header in [None, Some("has space"), Some("")] {
            let svc = GrpcTelemetryLayer.layer(tower::service_fn(echo_id));
            let mut req = Request::builder().uri("/pkg.Svc/M");
            if let Some(h) = header {
                req = req.header(REQUEST_ID_HEADER, h);
            }
            let res = svc.oneshot(req.body(()).expect("req")).await.expect("infallible");
            let id = res.body().clone().expect("an id");
            let parsed = uuid::Uuid::parse_str(&id).expect("uuid");
            assert_eq!(parsed.get_version_num(), 7);
            assert_eq!(res.headers()[REQUEST_ID_HEADER], id.as_str());
        }
    }

    #[test]
    fn status_parsing_and_names() {
        let mut h = HeaderMap::new();
        assert_eq!(grpc_status(&h), 0);
        h.insert("grpc-status", HeaderValue::from_static("14"));
        assert_eq!(code_name(grpc_status(&h)), "UNAVAILABLE");
        assert_eq!(code_name(99), "UNKNOWN");
        assert_eq!(code_name(-1), "UNKNOWN");
        assert_eq!(current_request_id(), None);
    }
}
