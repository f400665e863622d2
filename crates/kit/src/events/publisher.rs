//! Publishing tenant events through the task center
//! (`TaskService/PublishEvent`), which turns each into one signed, retried
//! webhook delivery per enabled endpoint of the tenant and announces it live.
//!
//! Contract: an event id is fixed before the first attempt, and a transient
//! failure (UNAVAILABLE, DEADLINE_EXCEEDED, or the channel's own request
//! timeout) is retried [`ATTEMPTS`] times in all, 100 ms then 400 ms apart
//! (±25 % jitter), with that same id — the task center is idempotent on it,
//! so a retry of a call that did land still delivers once. Any other status
//! is returned at once. Calls carry a service token: `PublishEvent` is for
//! service principals only.

use crate::grpc_client::is_transient;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tonic::Status;
use wework_proto::common::Event;
use wework_proto::task::PublishEventRequest;
use wework_proto::task::task_service_client::TaskServiceClient;

use super::EventEnvelope;
use crate::auth::ServiceTokenMinter;
use crate::clock::SharedClock;
use crate::grpc_client::{self, BearerSource, ClientError, ServiceChannel};

/// Calls per event, the first included.
pub const ATTEMPTS: u32 = 3;
/// The pause before the first retry; each later pause is four times longer.
const FIRST_DELAY: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Publishes one service's events. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    client: TaskServiceClient<ServiceChannel>,
    envelope: EventEnvelope,
}

impl EventPublisher {
    /// A publisher for `source_service` (e.g. `account-service`) to the task
    /// service at `task_service_url`. Connects lazily, so a service starts
    /// while the task center is still coming up; must be called inside a
    /// Tokio runtime.
    pub fn new(
        task_service_url: &str,
        minter: Arc<ServiceTokenMinter>,
        source_service: &str,
        clock: SharedClock,
    ) -> Result<Self, ClientError> {
        let channel = grpc_client::lazy_channel(task_service_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        let bearer: Arc<dyn BearerSource> = minter;
        Ok(Self {
            client: TaskServiceClient::new(grpc_client::intercepted(channel, Some(bearer))),
            envelope: EventEnvelope::new(source_service, clock),
        })
    }

    /// The envelope builder this publisher stamps events with.
    pub fn envelope(&self) -> &EventEnvelope {
        &self.envelope
    }

    /// Builds an event that occurred now and publishes it; returns its id.
    /// `data` must be a JSON object or null (INVALID_ARGUMENT otherwise).
    pub async fn publish_event(
        &self,
        tenant_id: &str,
        event_type: &str,
        subject: &str,
        data: Value,
    ) -> Result<String, Status> {
        let event = self
            .envelope
            .build(tenant_id, event_type, subject, data)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.publish(event).await
    }

    /// Publishes an event the caller built; returns its id. An empty id, an
    /// empty source and a missing `occurred_at` are filled in first (the id
    /// here, not by the server, so that retries reuse it).
    pub async fn publish(&self, event: Event) -> Result<String, Status> {
        self.publish_with(event, tokio::time::sleep).await
    }

    async fn publish_with<S, F>(&self, event: Event, sleep: S) -> Result<String, Status>
    where
        S: FnMut(Duration) -> F,
        F: Future<Output = ()>,
    {
        let event = self.complete(event);
        let id = event.id.clone();
        let request = PublishEventRequest { event: Some(event) };
        let response = with_retry(
            || {
                let mut client = self.client.clone();
                let request = request.clone();
                async move { client.publish_event(request).await }
            },
            sleep,
        )
        .await
        .inspect_err(|status| tracing::warn!(event_id = %id, %status, "event not published"))?;
        let published = response.into_inner().event_id;
        Ok(if published.is_empty() { id } else { published })
    }

    fn complete(&self, mut event: Event) -> Event {
        if event.id.is_empty() {
            event.id = super::new_event_id();
        }
        if event.source.is_empty() {
            event.source = self.envelope.source().to_owned();
        }
        if event.occurred_at.is_none() {
            event.occurred_at = Some(self.envelope.now());
        }
        event
    }
}

/// Runs `call` until it succeeds, fails for good, or [`ATTEMPTS`] are spent.
async fn with_retry<T, C, CF, S, SF>(mut call: C, mut sleep: S) -> Result<T, Status>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, Status>>,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(status) if attempt < ATTEMPTS && is_transient(&status) => {
                let delay = backoff(attempt, &mut rand::thread_rng());
                tracing::debug!(attempt, ?delay, %status, "PublishEvent failed; retrying");
                sleep(delay).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// The pause after failed attempt `attempt` (1-based): 100 ms, 400 ms, …, ±25 %.
fn backoff(attempt: u32, rng: &mut impl Rng) -> Duration {
    let nominal = FIRST_DELAY * 4u32.saturating_pow(attempt.saturating_sub(1));
    nominal.mul_f64(rng.gen_range(0.75..=1.25))
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use secrecy::SecretString;
    use serde_json::json;
    use tonic::Code;

    use super::*;
    use crate::clock::ManualClock;

    fn publisher(url: &str) -> EventPublisher {
        let minter = Arc::new(ServiceTokenMinter::new("test", &SecretString::from("s3cret"), Duration::from_secs(60)));
        let clock = ManualClock::new(chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time"));
        EventPublisher::new(url, minter, "account-service", clock.shared()).expect("publisher")
    }

    fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }

    #[test]
    fn backoff_is_100_then_400_ms_with_jitter() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let first = backoff(1, &mut rng).as_millis();
            let second = backoff(2, &mut rng).as_millis();
            assert!((75..=125).contains(&first), "{first}");
            assert!((300..=500).contains(&second), "{second}");
        }
    }

    #[test]
    fn only_unreachable_or_slow_is_transient() {
        assert!(is_transient(&Status::unavailable("down")));
        assert!(is_transient(&Status::deadline_exceeded("slow")));
        assert!(is_transient(&Status::cancelled(tonic::TimeoutExpired(()).to_string())));
        assert!(!is_transient(&Status::cancelled("caller went away")));
        for code in [Code::InvalidArgument, Code::PermissionDenied, Code::Unauthenticated, Code::Internal] {
            assert!(!is_transient(&Status::new(code, "no")), "{code:?}");
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_then_succeeds() {
        let calls = Cell::new(0);
        let sleeps = RefCell::new(Vec::new());
        let result = with_retry(
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err(Status::unavailable("down")) } else { Ok(n) } }
            },
            |d| {
                sleeps.borrow_mut().push(d);
                async {}
            },
        )
        .await;
        assert_eq!(result.expect("third attempt succeeds"), 3);
        assert_eq!(sleeps.borrow().len(), 2);
    }

    #[tokio::test]
    async fn gives_up_after_three_attempts_and_never_retries_a_rejection() {
        let calls = Cell::new(0);
        let result: Result<(), Status> = with_retry(
            || {
                calls.set(calls.get() + 1);
                async { Err(Status::deadline_exceeded("slow")) }
            },
            |_| async {},
        )
        .await;
        assert_eq!((result.expect_err("fails").code(), calls.get()), (Code::DeadlineExceeded, ATTEMPTS));

        calls.set(0);
        let result: Result<(), Status> = with_retry(
            || {
                calls.set(calls.get() + 1);
                async { Err(Status::invalid_argument("bad type")) }
            },
            |_| async {},
        )
        .await;
        assert_eq!((result.expect_err("fails").code(), calls.get()), (Code::InvalidArgument, 1));
    }

    #[tokio::test]
    async fn an_unreachable_task_center_is_unavailable_after_the_retries() {
        let publisher = publisher(&closed_port_url());
        let sleeps = Cell::new(0);
        let event = publisher.envelope().build("t1", "x.y", "s", Value::Null).expect("event");
        let result = publisher
            .publish_with(event, |_| {
                sleeps.set(sleeps.get() + 1);
                async {}
            })
            .await;
        assert_eq!(result.expect_err("unreachable").code(), Code::Unavailable);
        assert_eq!(sleeps.get(), ATTEMPTS - 1);
    }

    #[tokio::test]
    async fn data_that_is_not_an_object_is_rejected_before_any_call() {
        let publisher = publisher(&closed_port_url());
        let status = publisher.publish_event("t1", "x.y", "s", json!([1, 2])).await.expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn publish_fills_in_what_the_caller_left_out() {
        let publisher = publisher(&closed_port_url());
        let filled = publisher.complete(Event { tenant_id: "t1".into(), r#type: "x.y".into(), ..Event::default() });
        assert_eq!(uuid::Uuid::parse_str(&filled.id).map(|u| u.get_version_num()), Ok(7));
        assert_eq!(filled.source, "account-service");
        assert_eq!(filled.occurred_at.map(|t| t.seconds), Some(1_800_000_000));
        let kept = publisher.complete(Event { id: "e1".into(), source: "other".into(), ..filled });
        assert_eq!((kept.id.as_str(), kept.source.as_str()), ("e1", "other"));
    }
}
