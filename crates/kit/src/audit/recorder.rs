//! The queue between handlers and the user service.
//!
//! Contract: `record` only pushes onto a bounded channel ([`QUEUE_CAPACITY`]
//! rows); one background task per recorder sends the rows in order. A
//! transient failure (UNAVAILABLE, DEADLINE_EXCEEDED, the channel's own
//! timeout) is retried [`ATTEMPTS`] times in all, 100 ms then 400 ms apart;
//! any other status, or the last failed attempt, drops the row. Sending one
//! row at a time is enough: only management calls are audited, and a user
//! service that is down fills the queue, which then drops instead of growing.

use crate::grpc_client::is_transient;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tonic::Status;
use wework_proto::common::PageRequest;
use wework_proto::user::audit_service_client::AuditServiceClient;
use wework_proto::user::tenant_service_client::TenantServiceClient;
use wework_proto::user::{AuditLog, ListTenantsRequest, RecordAuditRequest};

use super::AuditEntry;
use crate::auth::ServiceTokenMinter;
use crate::auth::claims::PLATFORM_TENANT_CODE;
use crate::grpc_client::{self, BearerSource, ClientError, ServiceChannel};

/// Rows waiting to be sent, at most; past that new rows are dropped.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Calls per row, the first included.
pub const ATTEMPTS: u32 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Pages of `ListTenants` searched for the platform tenant.
const TENANT_PAGES: usize = 10;

/// Records audit rows of one service. Cheap to clone; clones share a queue.
#[derive(Clone)]
pub struct AuditRecorder {
    queue: Option<mpsc::Sender<AuditEntry>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuditRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditRecorder")
            .field("enabled", &self.queue.is_some())
            .field("pending", &self.shared.pending.load(Ordering::Relaxed))
            .field("dropped", &self.shared.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

/// Counters shared by the recorder's clones and its background task.
#[derive(Default)]
pub(super) struct Shared {
    /// Rows accepted and not yet sent or dropped.
    pending: AtomicU64,
    dropped: AtomicU64,
    /// Woken whenever `pending` falls to zero.
    idle: Notify,
}

impl Shared {
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn finished(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Counts a lost row and says so without its values (they may be large,
    /// and the log is not the place to keep them).
    fn drop_row(&self, entry: &AuditEntry, reason: &'static str, status: Option<&Status>) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("audit_records_dropped_total", "reason" => reason).increment(1);
        tracing::warn!(
            reason,
            code = ?status.map(Status::code),
            error = status.map(Status::message),
            operation = %entry.operation,
            resource_type = %entry.resource_type,
            resource_id = %entry.resource_id,
            tenant_id = %entry.tenant_id,
            actor = %entry.actor,
            request_id = entry.meta.request_id.as_deref(),
            "audit row dropped"
        );
    }
}

impl AuditRecorder {
    /// A recorder for `service_name` sending to the user service at
    /// `user_service_url`. Connects lazily, so a service starts while the
    /// user service is still coming up; must be called inside a Tokio runtime.
    pub fn new(
        user_service_url: &str,
        minter: Arc<ServiceTokenMinter>,
        service_name: &str,
    ) -> Result<Self, ClientError> {
        let channel = grpc_client::lazy_channel(user_service_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        let bearer: Arc<dyn BearerSource> = minter;
        let channel = grpc_client::intercepted(channel, Some(bearer));
        let sink = UserService {
            audit: AuditServiceClient::new(channel.clone()),
            tenants: TenantServiceClient::new(channel),
            platform_tenant: None,
        };
        Ok(Self::spawn(sink, service_name, QUEUE_CAPACITY))
    }

    /// A recorder that records nothing (tools, and tests that do not look).
    pub fn disabled() -> Self {
        Self { queue: None, shared: Arc::default() }
    }

    pub(super) fn spawn<S: Sink>(sink: S, service_name: &str, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        let shared = Arc::new(Shared::default());
        tokio::spawn(drain(rx, sink, service_name.to_owned(), shared.clone(), tokio::time::sleep));
        Self { queue: Some(tx), shared }
    }

    /// A recorder over a queue that the caller drains (or does not).
    #[cfg(test)]
    pub(super) fn over(queue: mpsc::Sender<AuditEntry>, shared: Arc<Shared>) -> Self {
        Self { queue: Some(queue), shared }
    }

    /// Queues `entry`; returns at once. Its values must already be redacted.
    pub fn record(&self, entry: AuditEntry) {
        let Some(queue) = &self.queue else { return };
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        match queue.try_send(entry) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(entry)) => {
                self.shared.finished();
                self.shared.drop_row(&entry, "queue_full", None);
            }
            Err(mpsc::error::TrySendError::Closed(entry)) => {
                self.shared.finished();
                self.shared.drop_row(&entry, "closed", None);
            }
        }
    }

    /// Rows dropped so far by this recorder (also the metric).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    /// Waits until every row queued so far is sent or dropped, at most
    /// `timeout`; true when none is left (for graceful shutdown and tests).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let idle = self.shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.shared.pending.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.shared.pending.load(Ordering::Acquire) == 0;
            }
        }
    }
}

/// Where rows go: the user service, or a stand-in in unit tests.
pub(super) trait Sink: Send + 'static {
    fn send(&mut self, row: AuditLog) -> impl Future<Output = Result<(), Status>> + Send;
}

/// Sends the queued rows until every recorder clone is gone.
pub(super) async fn drain<S, Sl, F>(
    mut rx: mpsc::Receiver<AuditEntry>,
    mut sink: S,
    service: String,
    shared: Arc<Shared>,
    mut sleep: Sl,
) where
    S: Sink,
    Sl: FnMut(Duration) -> F,
    F: Future<Output = ()>,
{
    while let Some(entry) = rx.recv().await {
        let row = entry.to_proto(&service);
        let mut attempt = 1;
        loop {
            match sink.send(row.clone()).await {
                Ok(()) => break,
                Err(status) if attempt < ATTEMPTS && is_transient(&status) => {
                    tracing::debug!(attempt, %status, "RecordAudit failed; retrying");
                    sleep(FIRST_DELAY * 4u32.saturating_pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(status) => {
                    let reason = if is_transient(&status) { "unavailable" } else { "rejected" };
                    shared.drop_row(&entry, reason, Some(&status));
                    break;
                }
            }
        }
        shared.finished();
    }
}

/// The user service over gRPC, with a service token.
struct UserService {
    audit: AuditServiceClient<ServiceChannel>,
    tenants: TenantServiceClient<ServiceChannel>,
    /// The platform tenant's id, once looked up.
    platform_tenant: Option<String>,
}

impl UserService {
    async fn platform_tenant(&mut self) -> Result<String, Status> {
        if let Some(id) = &self.platform_tenant {
            return Ok(id.clone());
        }
        let mut page_token = String::new();
        for _ in 0..TENANT_PAGES {
            let page = self
                .tenants
                .list_tenants(ListTenantsRequest {
                    page: Some(PageRequest { page_size: 100, page_token }),
                    status: 0,
                    query: PLATFORM_TENANT_CODE.to_owned(),
                })
                .await?
                .into_inner();
            if let Some(found) = page.tenants.into_iter().find(|t| t.tenant_code == PLATFORM_TENANT_CODE) {
                self.platform_tenant = Some(found.id.clone());
                return Ok(found.id);
            }
            page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if page_token.is_empty() {
                break;
            }
        }
        Err(Status::failed_precondition("the user service has no platform tenant"))
    }
}

impl Sink for UserService {
    async fn send(&mut self, mut row: AuditLog) -> Result<(), Status> {
        if row.tenant_id.is_empty() {
            row.tenant_id = self.platform_tenant().await?;
        }
        self.audit.record_audit(RecordAuditRequest { entry: Some(row) }).await?;
        Ok(())
    }
}
