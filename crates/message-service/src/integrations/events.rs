//! Tenant events of messages (`message.sent`, `message.delivered`,
//! `message.failed`, `message.received`), published through the task center
//! (signed webhook + live stream). Publishing never holds up the dispatcher:
//! events go to a bounded queue drained by a background task with the
//! publisher's bounded retries; a full queue drops the event with a warning
//! and a metric (the message's status stays queryable either way). Each
//! publish runs in a span continuing the message's stored trace, so the
//! tenant's webhook delivery joins the trace of the request that queued it.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;
use tracing::Instrument;
use wework_kit::events::EventPublisher;

use crate::store::entity::message;

const QUEUE: usize = 10_000;
/// Events published at once.
const PARALLEL: usize = 8;

/// One queued event: tenant, type, subject, data, and the message's trace context.
type Queued = (String, String, String, serde_json::Value, Option<String>);

#[derive(Clone)]
pub struct MessageEvents {
    tx: Option<mpsc::Sender<Queued>>,
}

impl MessageEvents {
    /// Without a publisher (no task center configured) events are dropped silently.
    pub fn start(publisher: Option<Arc<EventPublisher>>) -> Self {
        let Some(publisher) = publisher else { return Self { tx: None } };
        let (tx, mut rx) = mpsc::channel::<Queued>(QUEUE);
        tokio::spawn(async move {
            let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
            while let Some((tenant, kind, subject, data, traceparent)) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let publisher = publisher.clone();
                let span = tracing::info_span!("message.event", event = %kind, message_id = %subject);
                let span = wework_kit::telemetry::with_parent(span, traceparent.as_deref());
                tokio::spawn(
                    async move {
                        if let Err(s) = publisher.publish_event(&tenant, &kind, &subject, data).await {
                            metrics::counter!("message_events_lost_total").increment(1);
                            tracing::warn!(code = ?s.code(), event = kind, "message event not published");
                        }
                        drop(slot);
                    }
                    .instrument(span),
                );
            }
        });
        Self { tx: Some(tx) }
    }

    /// `message.<status>` for a message that just reached `status`.
    pub fn status_changed(&self, row: &message::Model, status: &str) {
        let kind = format!("message.{status}");
        self.emit(row, &kind);
    }

    pub fn emit(&self, row: &message::Model, kind: &str) {
        let Some(tx) = &self.tx else { return };
        let data = json!({
            "message_id": row.id,
            "account_id": row.account_id,
            "conversation_id": row.conversation_id,
            "direction": row.direction,
            "message_type": row.message_type,
            "status": row.status,
            "wework_msg_id": row.wework_msg_id,
            "batch_id": row.batch_id,
            "error_code": row.error_code,
            "error_message": row.error_message,
        });
        let queued = (row.tenant_id.clone(), kind.to_owned(), row.id.clone(), data, row.traceparent.clone());
        if tx.try_send(queued).is_err() {
            metrics::counter!("message_events_lost_total").increment(1);
            tracing::warn!(event = kind, "message event queue full; event dropped");
        }
    }
}
