//! The calls a processed callback makes: account `ReportEvent`, message
//! `UpdateDeliveryStatus` / `RecordInbound`, and the tenant event through
//! the task center. Every call is idempotent on the receiving side (the
//! event id, our client message id, WeWork's message id, the tenant event
//! id = the callback event id), so a retried or replayed event repeats
//! nothing. Failures are classified: transient ones are retried with
//! backoff, permanent ones fail the event at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::Code;
use wework_client::callback::{CallbackEnvelope, NewMessageData, SendResultData, SendStatus};
use wework_client::protocol::{ChatType, MessageContent};
use wework_kit::events::EventPublisher;
use wework_kit::grpc_client::ServiceChannel;
use wework_proto::account::account_service_client::AccountServiceClient;

use crate::grpc::convert::ts;
use wework_proto::account::{ReportEventRequest, ReportEventResponse};
use wework_proto::message::content::{self as pc, Kind};
use wework_proto::message::message_service_client::MessageServiceClient;
use wework_proto::message::{self as mpb, Content, RecordInboundRequest, UpdateDeliveryStatusRequest};

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Worth another attempt later (unavailable, timeout, overloaded).
    Transient(String),
    /// The callee will never accept it; the text is safe to store.
    Permanent(String),
    /// The callee does not know the account / message (yet).
    NotFound(String),
}

fn classify(call: &str, s: &tonic::Status) -> CallError {
    match s.code() {
        Code::NotFound => CallError::NotFound(format!("{call}: not found")),
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::PermissionDenied
        | Code::Unauthenticated
        | Code::OutOfRange
        | Code::Unimplemented => CallError::Permanent(format!("{call}: {:?}: {}", s.code(), s.message())),
        _ => CallError::Transient(format!("{call}: {:?}", s.code())),
    }
}

#[derive(Clone)]
pub struct Downstream {
    accounts: AccountServiceClient<ServiceChannel>,
    messages: MessageServiceClient<ServiceChannel>,
    publisher: Option<Arc<EventPublisher>>,
}

impl Downstream {
    pub fn new(accounts: ServiceChannel, messages: ServiceChannel, publisher: Option<Arc<EventPublisher>>) -> Self {
        Self { accounts: AccountServiceClient::new(accounts), messages: MessageServiceClient::new(messages), publisher }
    }

    /// Status events, heartbeats, syncs and the conversation of a new message.
    pub async fn report_event(
        &self,
        event_id: &str,
        env: &CallbackEnvelope,
        received: DateTime<Utc>,
    ) -> Result<ReportEventResponse, CallError> {
        let req = ReportEventRequest {
            event_id: event_id.to_owned(),
            guid: env.guid.clone(),
            notify_type: env.notify_type,
            data_json: env.data.to_string(),
            received_at: ts(received),
        };
        match self.accounts.clone().report_event(req).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(classify("account ReportEvent", &s)),
        }
    }

    /// A send result; `Ok(applied)`.
    pub async fn delivery(&self, r: &SendResultData) -> Result<bool, CallError> {
        let status = match r.status {
            SendStatus::Sent => mpb::MessageStatus::Sent,
            SendStatus::Delivered => mpb::MessageStatus::Delivered,
            SendStatus::Failed => mpb::MessageStatus::Failed,
        };
        let req = UpdateDeliveryStatusRequest {
            message_id: r.client_msg_id.clone(),
            wework_msg_id: String::new(),
            status: status as i32,
            error_code: r.error_code.map(|c| c.to_string()).unwrap_or_default(),
            error_message: r.error_message.clone().unwrap_or_default(),
            at: DateTime::from_timestamp_millis(r.at).and_then(ts),
        };
        match self.messages.clone().update_delivery_status(req).await {
            Ok(resp) => Ok(resp.into_inner().applied),
            Err(s) => Err(classify("message UpdateDeliveryStatus", &s)),
        }
    }

    /// An inbound message, stored once per account + WeWork id; returns the message id.
    pub async fn inbound(&self, account_id: &str, m: &NewMessageData) -> Result<String, CallError> {
        let req = RecordInboundRequest {
            account_id: account_id.to_owned(),
            wework_msg_id: m.msg_id.clone(),
            conversation_id: m.chat_id.clone(),
            chat_type: match m.chat_type {
                ChatType::Private => mpb::ChatType::Private,
                ChatType::Group => mpb::ChatType::Group,
            } as i32,
            sender_id: m.sender_id.clone(),
            sender_name: m.sender_name.clone(),
            content: Some(content_to_proto(&m.content)),
            at_list: m.at_list.clone(),
            sent_at: DateTime::from_timestamp_millis(m.sent_at).and_then(ts),
        };
        match self.messages.clone().record_inbound(req).await {
            Ok(resp) => Ok(resp.into_inner().id),
            Err(s) => Err(classify("message RecordInbound", &s)),
        }
    }

    /// Publishes the tenant event `event_type` with id `event_id` (the task
    /// center makes one delivery per event id, however often this repeats).
    /// Without a task center configured, nothing is published.
    pub async fn publish(
        &self,
        event_id: &str,
        tenant_id: &str,
        event_type: &str,
        subject: &str,
        data: serde_json::Value,
        occurred: DateTime<Utc>,
    ) -> Result<(), CallError> {
        let Some(publisher) = &self.publisher else { return Ok(()) };
        let mut event = publisher
            .envelope()
            .build_at(tenant_id, event_type, subject, data, occurred)
            .map_err(|e| CallError::Permanent(format!("tenant event: {e}")))?;
        event.id = event_id.to_owned();
        publisher.publish(event).await.map(|_| ()).map_err(|s| classify("task center PublishEvent", &s))
    }
}

/// The protocol's content as the message service's proto (the same mapping
/// as the message service's `domain::content::to_proto`).
fn content_to_proto(content: &MessageContent) -> Content {
    let kind = match content.clone() {
        MessageContent::Text { text } => Kind::Text(pc::Text { text }),
        MessageContent::Image { url, file_size } => Kind::Image(pc::Image { url, file_size }),
        MessageContent::File { url, file_name, file_size } => Kind::File(pc::File { url, file_name, file_size }),
        MessageContent::Link { title, url, description, image_url } => {
            Kind::Link(pc::Link { title, url, description, image_url })
        }
        MessageContent::MiniProgram { app_id, title, page_path, thumb_url } => {
            Kind::MiniProgram(pc::MiniProgram { app_id, title, page_path, thumb_url })
        }
        MessageContent::Video { url, duration_secs, thumb_url } => {
            Kind::Video(pc::Video { url, duration_secs, thumb_url })
        }
        MessageContent::ContactCard { user_id, name } => Kind::ContactCard(pc::ContactCard { user_id, name }),
        MessageContent::Location { latitude, longitude, title, address } => {
            Kind::Location(pc::Location { latitude, longitude, title, address })
        }
    };
    Content { kind: Some(kind) }
}
