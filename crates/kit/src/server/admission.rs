//! The server-wide concurrency limit with load shedding.
//!
//! Contract: at most `limit` RPCs are in flight across all connections; an RPC
//! arriving past that is answered at once with `UNAVAILABLE` ("overloaded",
//! retry with backoff) instead of queueing — queued work under overload only
//! turns into deadline misses for everyone. Health checks bypass the limit so
//! a busy but healthy replica is not restarted by its orchestrator. The permit
//! is held until the handler returns its response (for server-streaming RPCs:
//! until the stream starts).
//!
//! A semaphore `try_acquire` is tower's `load_shed` + global `concurrency_limit`
//! in one step, and answers with a proper gRPC status instead of a tower error
//! that tonic would turn into a broken stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokio::sync::Semaphore;

const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

#[derive(Clone, Debug)]
pub(crate) struct AdmissionLayer {
    permits: Arc<Semaphore>,
}

impl AdmissionLayer {
    pub(crate) fn new(limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit.clamp(1, Semaphore::MAX_PERMITS))) }
    }
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission { inner, permits: self.permits.clone() }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Admission<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, ResBody> tower::Service<Request<B>> for Admission<S>
where
    S: tower::Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.uri().path().starts_with(HEALTH_PREFIX) {
            return Box::pin(inner.call(req));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Box::pin(async move {
                let res = inner.call(req).await;
                drop(permit);
                res
            }),
            Err(_) => {
                metrics::counter!("grpc_server_shed_total").increment(1);
                tracing::warn!(rpc.method = req.uri().path(), "shedding RPC: concurrency limit reached");
                let status =
                    tonic::Status::unavailable("server overloaded: too many requests in flight; retry with backoff");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{Layer, ServiceExt};

    fn req(path: &str) -> Request<()> {
        Request::builder().uri(path).body(()).expect("req")
    }

    #[tokio::test]
    async fn sheds_past_the_limit_and_recovers() {
        // Handlers wait for a permit of `gate`: the test releases them explicitly.
        let gate = Arc::new(Semaphore::new(0));
        let g = gate.clone();
        let svc = AdmissionLayer::new(1).layer(tower::service_fn(move |_req: Request<()>| {
            let g = g.clone();
            async move {
                g.acquire().await.expect("open").forget();
                Ok::<_, Infallible>(Response::new(String::from("done")))
            }
        }));
        let blocked = tokio::spawn(svc.clone().oneshot(req("/a.B/C")));
        // Wait (without sleeping) until the first call holds the only permit.
        while svc.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let shed = svc.clone().oneshot(req("/a.B/C")).await.expect("infallible");
        assert_eq!(shed.headers()["grpc-status"], "14");
        assert!(shed.headers()["grpc-message"].to_str().expect("ascii").contains("overloaded"));

        // Health checks are never shed.
        let health = tokio::spawn(svc.clone().oneshot(req("/grpc.health.v1.Health/Check")));
        gate.add_permits(2);
        assert_eq!(blocked.await.expect("join").expect("ok").body(), "done");
        assert_eq!(health.await.expect("join").expect("ok").body(), "done");
        assert_eq!(svc.permits.available_permits(), 1, "permit released");
    }
}
