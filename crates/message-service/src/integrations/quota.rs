//! The tenant's daily message quota, reserved in the user service. Every
//! accepted message reserves one; concurrent reservations of one tenant are
//! coalesced into one call (so 10,000 sends a second are not 10,000 quota
//! calls), and still exact: when the combined request does not fit, the
//! quota's `remaining` is granted to the first callers in order and the
//! rest are refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tonic::Code;
use wework_kit::grpc_client::ServiceChannel;
use wework_proto::user::quota_service_client::QuotaServiceClient;
use wework_proto::user::{ReleaseDailyMessagesRequest, ReserveDailyMessagesRequest};

use crate::error::{Error, Result};

type Waiter = (u32, oneshot::Sender<Result<()>>);

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// A caller is flushing this tenant's queue right now.
    flushing: bool,
}

#[derive(Clone)]
pub struct DailyQuota {
    client: QuotaServiceClient<ServiceChannel>,
    queues: Arc<Mutex<HashMap<String, Queue>>>,
}

impl DailyQuota {
    pub fn new(channel: ServiceChannel) -> Self {
        Self { client: QuotaServiceClient::new(channel), queues: Arc::default() }
    }

    /// Reserves `count` messages of `tenant`'s allowance for today (UTC):
    /// all or nothing. Spent → ResourceExhausted; unknown or inactive
    /// tenant → FailedPrecondition; user service down → Unavailable.
    pub async fn reserve(&self, tenant: &str, count: u32) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        let flush = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            let queue = queues.entry(tenant.to_owned()).or_default();
            queue.waiting.push((count, tx));
            !std::mem::replace(&mut queue.flushing, true)
        };
        if flush {
            self.flush(tenant).await;
        }
        rx.await.unwrap_or_else(|_| Err(Error::Unavailable("the message quota cannot be checked right now".into())))
    }

    /// Gives back messages reserved but never sent (a duplicate, a refusal
    /// after reserving, a cancelled message). Best effort: a lost release
    /// only under-uses the day's quota.
    pub async fn release(&self, tenant: &str, count: u32) {
        if count == 0 {
            return;
        }
        let req = ReleaseDailyMessagesRequest { tenant_id: tenant.to_owned(), count: clamp(u64::from(count)) };
        if let Err(s) = self.client.clone().release_daily_messages(req).await {
            tracing::warn!(code = ?s.code(), count, "could not release reserved messages");
        }
    }

    /// Serves the tenant's queue until it is empty.
    async fn flush(&self, tenant: &str) {
        loop {
            let batch = {
                let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                let Some(queue) = queues.get_mut(tenant) else { return };
                if queue.waiting.is_empty() {
                    queues.remove(tenant);
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            self.serve(tenant, batch).await;
        }
    }

    async fn serve(&self, tenant: &str, batch: Vec<Waiter>) {
        let total: u64 = batch.iter().map(|(n, _)| u64::from(*n)).sum();
        match self.call(tenant, total).await {
            Ok(()) => batch.into_iter().for_each(|(_, tx)| drop(tx.send(Ok(())))),
            Err(Refusal::Exhausted { remaining }) if batch.len() > 1 => {
                // Grant the first callers that fit, in arrival order, with one more call.
                let mut left = remaining;
                let (fit, refused): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(n, _)| {
                    let fits = u64::from(*n) <= left;
                    if fits {
                        left -= u64::from(*n);
                    }
                    fits
                });
                refused.into_iter().for_each(|(_, tx)| drop(tx.send(Err(spent()))));
                if fit.is_empty() {
                    return;
                }
                let sum: u64 = fit.iter().map(|(n, _)| u64::from(*n)).sum();
                let outcome = self.call(tenant, sum).await;
                for (_, tx) in fit {
                    let _ = tx.send(match &outcome {
                        Ok(()) => Ok(()),
                        Err(r) => Err(r.to_error()),
                    });
                }
            }
            Err(r) => batch.into_iter().for_each(|(_, tx)| drop(tx.send(Err(r.to_error())))),
        }
    }

    async fn call(&self, tenant: &str, count: u64) -> std::result::Result<(), Refusal> {
        let req = ReserveDailyMessagesRequest { tenant_id: tenant.to_owned(), count: clamp(count) };
        match self.client.clone().reserve_daily_messages(req).await {
            Ok(resp) if resp.get_ref().granted => Ok(()),
            Ok(resp) => Err(Refusal::Exhausted { remaining: u64::try_from(resp.get_ref().remaining).unwrap_or(0) }),
            Err(s) if s.code() == Code::ResourceExhausted => {
                let remaining = s
                    .metadata()
                    .get("x-quota-remaining")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                Err(Refusal::Exhausted { remaining })
            }
            Err(s) if matches!(s.code(), Code::NotFound | Code::FailedPrecondition) => Err(Refusal::Tenant),
            Err(s) => {
                tracing::warn!(code = ?s.code(), "user service quota reservation failed");
                Err(Refusal::Unavailable)
            }
        }
    }
}

enum Refusal {
    Exhausted { remaining: u64 },
    Tenant,
    Unavailable,
}

impl Refusal {
    fn to_error(&self) -> Error {
        match self {
            Self::Exhausted { .. } => spent(),
            Self::Tenant => Error::precondition("TENANT_UNAVAILABLE", "the tenant does not exist or is not active"),
            Self::Unavailable => Error::Unavailable("the message quota cannot be checked right now".into()),
        }
    }
}

fn spent() -> Error {
    Error::ResourceExhausted("the tenant's daily message quota is spent".into())
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
