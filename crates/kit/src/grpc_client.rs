//! Channels to other services.
//!
//! Contract: a channel connects lazily (a service starts even if its
//! dependency is still down), bounds every connect and every request with a
//! timeout, and — through [`ContextInterceptor`] — carries the caller's
//! context on each call: a bearer token, the W3C `traceparent` of the current
//! span, and the `x-request-id` of the RPC being served.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::propagation::Injector;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::{REQUEST_ID_HEADER, current_request_id};

mod raw_codec;
pub use raw_codec::RawCodec;

/// Supplies the `authorization: Bearer …` value for outgoing calls (a service
/// token minted by [`crate::auth`], or a caller's token passed through).
pub trait BearerSource: Send + Sync {
    /// The token without the `Bearer ` prefix; `None` sends no header.
    fn bearer(&self) -> Option<String>;
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid service url {url:?}: {source}")]
    InvalidUrl { url: String, source: tonic::transport::Error },
    /// The channel's background connection task needs a Tokio runtime.
    #[error("a gRPC channel must be created inside a Tokio runtime")]
    NoRuntime,
}

/// A channel to `url` (e.g. `http://127.0.0.1:50051`) that connects on first
/// use and reconnects by itself.
pub fn lazy_channel(url: &str, connect_timeout: Duration, request_timeout: Duration) -> Result<Channel, ClientError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(ClientError::NoRuntime);
    }
    let invalid = |source| ClientError::InvalidUrl { url: url.to_owned(), source };
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(invalid)?;
    Ok(endpoint
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .tcp_nodelay(true)
        // Keepalive notices a dead peer (or a silently dropped NAT entry)
        // between calls instead of on the next request's deadline.
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

/// Adds the caller's context to every outgoing request.
#[derive(Clone, Default)]
pub struct ContextInterceptor {
    bearer: Option<Arc<dyn BearerSource>>,
}

impl ContextInterceptor {
    pub fn new(bearer: Option<Arc<dyn BearerSource>>) -> Self {
        Self { bearer }
    }
}

impl std::fmt::Debug for ContextInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextInterceptor").field("bearer", &self.bearer.is_some()).finish()
    }
}

impl Interceptor for ContextInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let md = req.metadata_mut();
        // An explicit per-call token (e.g. a user's, passed through) wins.
        if !md.contains_key("authorization")
            && let Some(token) = self.bearer.as_ref().and_then(|b| b.bearer())
        {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| tonic::Status::internal("bearer token is not a valid header value"))?;
            md.insert("authorization", value);
        }
        let cx = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MetadataInjector(md)));
        if !md.contains_key(REQUEST_ID_HEADER)
            && let Some(id) = current_request_id()
            && let Ok(value) = MetadataValue::try_from(id)
        {
            md.insert(REQUEST_ID_HEADER, value);
        }
        Ok(req)
    }
}

/// A client channel that carries the caller's context.
pub type ServiceChannel = InterceptedService<Channel, ContextInterceptor>;

/// Wraps `channel` so every call carries context (and a bearer, if given).
/// Use it as `FooServiceClient::new(intercepted(channel, bearer))`.
pub fn intercepted(channel: Channel, bearer: Option<Arc<dyn BearerSource>>) -> ServiceChannel {
    InterceptedService::new(channel, ContextInterceptor::new(bearer))
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
            self.0.insert(key, value);
        }
    }
}

/// Whether a failed call is worth repeating: the server was unreachable or
/// did not answer in time (a channel's own request timeout surfaces as
/// CANCELLED with tonic's `TimeoutExpired` message). Shared by every client
/// that retries (event publisher, audit recorder).
pub fn is_transient(status: &tonic::Status) -> bool {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => true,
        tonic::Code::Cancelled => status.message() == tonic::TimeoutExpired(()).to_string(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);

    impl BearerSource for Fixed {
        fn bearer(&self) -> Option<String> {
            Some(self.0.to_owned())
        }
    }

    #[tokio::test]
    async fn lazy_channel_validates_url_and_needs_no_server() {
        let t = Duration::from_secs(1);
        assert!(lazy_channel("http://127.0.0.1:1", t, t).is_ok());
        assert!(matches!(lazy_channel("not a url", t, t), Err(ClientError::InvalidUrl { .. })));
    }

    #[test]
    fn lazy_channel_outside_a_runtime_is_an_error() {
        let t = Duration::from_secs(1);
        assert!(matches!(lazy_channel("http://127.0.0.1:1", t, t), Err(ClientError::NoRuntime)));
    }

    #[test]
    fn adds_bearer_unless_present() {
        let mut i = ContextInterceptor::new(Some(Arc::new(Fixed("svc-token"))));
        let req = i.call(tonic::Request::new(())).expect("ok");
        assert_eq!(req.metadata().get("authorization").expect("auth"), "Bearer svc-token");

        let mut own = tonic::Request::new(());
        own.metadata_mut().insert("authorization", MetadataValue::from_static("Bearer user"));
        let req = i.call(own).expect("ok");
        assert_eq!(req.metadata().get("authorization").expect("auth"), "Bearer user");

        let req = ContextInterceptor::default().call(tonic::Request::new(())).expect("ok");
        assert!(req.metadata().get("authorization").is_none());
    }

    #[test]
    fn rejects_a_token_that_cannot_be_a_header() {
        let mut i = ContextInterceptor::new(Some(Arc::new(Fixed("bad\ntoken"))));
        assert_eq!(i.call(tonic::Request::new(())).expect_err("bad").code(), tonic::Code::Internal);
    }

    #[tokio::test]
    async fn forwards_the_request_id_of_the_rpc_being_served() {
        use tower::{Layer, ServiceExt};
        let svc = crate::telemetry::GrpcTelemetryLayer.layer(tower::service_fn(|_req: http::Request<()>| async {
            let out = ContextInterceptor::default().call(tonic::Request::new(())).expect("ok");
            let id = out.metadata().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            Ok::<_, std::convert::Infallible>(http::Response::new(id))
        }));
        let req = http::Request::builder().header(REQUEST_ID_HEADER, "req-42").body(()).expect("req");
        let res = svc.oneshot(req).await.expect("infallible");
        assert_eq!(res.body().as_deref(), Some("req-42"));
    }
}
