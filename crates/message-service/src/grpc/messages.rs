//! `MessageService`: sends ([`super::accept`]), reads and cancelling here,
//! receipts and inbound messages ([`super::delivery`]), statistics
//! ([`super::statistics`]). A tenant caller reaches its own tenant's
//! messages only; another tenant's message is simply not found.

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_proto::message::{self as pb, message_service_server::MessageService};

use super::context::Caller;
use super::convert::{direction_from_proto, from_ts_opt, message_to_proto};
use super::send::{MAX_CONVERSATION_CHARS, MAX_ID_CHARS, id_problem};
use super::{Api, accept, delivery, page, respond, statistics};
use crate::domain::FieldError;
use crate::domain::status::MessageStatus;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, MessageFilter, entity::message};

/// The stored `message_type` names a filter accepts; the proto's content
/// kind names are accepted too.
const MESSAGE_TYPES: &[(&str, &str)] = &[
    ("text", "text"),
    ("image", "image"),
    ("file", "file"),
    ("link", "link"),
    ("miniprogram", "miniprogram"),
    ("mini_program", "miniprogram"),
    ("video", "video"),
    ("card", "card"),
    ("contact_card", "card"),
    ("location", "location"),
];

/// A message the caller may see (fresh: read from the primary, so a send is
/// visible to the caller's next call).
async fn visible_message(state: &AppState, caller: &Caller, id: &str) -> Result<message::Model> {
    let id = id.trim();
    if let Some(p) = id_problem(id, MAX_ID_CHARS) {
        return Err(FieldError::new("id", p).into());
    }
    let scope = caller.row_scope();
    store::find_message(state.db.writer(), id, scope.as_deref()).await?.ok_or(Error::NotFound("message"))
}

/// An optional id-like filter, trimmed (`None` when empty).
fn optional(value: &str, field: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(p) = id_problem(value, max) {
        errors.push(FieldError::new(field, p));
    }
    Some(value.to_owned())
}

fn filter_of(caller: &Caller, r: &pb::ListMessagesRequest) -> Result<MessageFilter> {
    let mut errors = Vec::new();
    let account_id = optional(&r.account_id, "account_id", MAX_ID_CHARS, &mut errors);
    let conversation_id = optional(&r.conversation_id, "conversation_id", MAX_CONVERSATION_CHARS, &mut errors);
    let batch_id = optional(&r.batch_id, "batch_id", MAX_ID_CHARS, &mut errors);
    let status = match r.status {
        0 => None,
        v => MessageStatus::from_proto(v).or_else(|| {
            errors.push(FieldError::new("status", "unknown status"));
            None
        }),
    };
    let wanted = r.message_type.trim();
    let message_type = (!wanted.is_empty()).then(|| {
        let known = MESSAGE_TYPES.iter().find(|(name, _)| name.eq_ignore_ascii_case(wanted));
        known.map(|(_, stored)| (*stored).to_owned()).unwrap_or_else(|| {
            let names = ["text", "image", "file", "link", "mini_program", "video", "contact_card", "location"];
            errors.push(FieldError::new("message_type", format!("one of {}", names.join(", "))));
            String::new()
        })
    });
    let direction = direction_from_proto(r.direction, "direction").map_err(|e| errors.push(e)).ok().flatten();
    let created_after = from_ts_opt(r.created_after.as_ref(), "created_after").map_err(|e| errors.push(e)).ok();
    let created_before = from_ts_opt(r.created_before.as_ref(), "created_before").map_err(|e| errors.push(e)).ok();
    let (created_after, created_before) = (created_after.flatten(), created_before.flatten());
    if let (Some(a), Some(b)) = (created_after, created_before)
        && a > b
    {
        errors.push(FieldError::new("created_before", "must not be before created_after"));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(MessageFilter {
        tenant_id: caller.tenant_scope("")?,
        account_id,
        conversation_id,
        status,
        batch_id,
        message_type,
        direction,
        created_after,
        created_before,
    })
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListMessagesRequest) -> Result<pb::ListMessagesResponse> {
    caller.require("message:read")?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let filter = filter_of(caller, r)?;
    let (rows, next) = store::list_messages(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListMessagesResponse {
        messages: rows.iter().map(message_to_proto).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

fn not_cancellable(status: &str) -> Error {
    Error::precondition("NOT_CANCELLABLE", format!("the message is {status}; only pending messages can be cancelled"))
}

/// Cancels a pending (or scheduled) message and gives its quota back. The
/// write is conditional on `pending`, so a dispatcher that claimed it a
/// moment earlier wins and this call answers NOT_CANCELLABLE.
async fn cancel(state: &AppState, caller: &Caller, id: &str) -> Result<pb::Message> {
    caller.require("message:cancel")?;
    let row = visible_message(state, caller, id).await?;
    if row.status != MessageStatus::Pending.as_str() {
        return Err(not_cancellable(&row.status));
    }
    let now = state.clock.now();
    let cancelled = wework_kit::db::retry_transient(|| async {
        let txn = sea_orm::TransactionTrait::begin(state.db.writer()).await?;
        let done = store::cancel_pending(&txn, &row, now).await?;
        txn.commit().await?;
        Ok(done)
    })
    .await?;
    let current = store::find_message(state.db.writer(), &row.id, None).await?.ok_or(Error::NotFound("message"))?;
    if !cancelled {
        return Err(not_cancellable(&current.status));
    }
    state.quota.release(&row.tenant_id, 1).await;
    let entry = caller.audit(&row.tenant_id, "message.cancel", "message", &row.id);
    state.audit.record(entry.values(Some(json!({"status": row.status})), Some(json!({"status": current.status}))));
    Ok(message_to_proto(&current))
}

#[tonic::async_trait]
impl MessageService for Api {
    async fn send_message(
        &self,
        req: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        respond(async { accept::send_one(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn send_messages(
        &self,
        req: Request<pb::SendMessagesRequest>,
    ) -> Result<Response<pb::SendMessagesResponse>, Status> {
        respond(async { accept::send_many(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn get_message(&self, req: Request<pb::GetMessageRequest>) -> Result<Response<pb::Message>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require("message:read")?;
            Ok(message_to_proto(&visible_message(&self.state, &caller, &req.get_ref().id).await?))
        })
        .await
    }

    async fn list_messages(
        &self,
        req: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        respond(async { list(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn cancel_message(&self, req: Request<pb::CancelMessageRequest>) -> Result<Response<pb::Message>, Status> {
        respond(async { cancel(&self.state, &self.state.caller(&req).await?, &req.get_ref().id).await }).await
    }

    async fn update_delivery_status(
        &self,
        req: Request<pb::UpdateDeliveryStatusRequest>,
    ) -> Result<Response<pb::UpdateDeliveryStatusResponse>, Status> {
        respond(async { delivery::update(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn record_inbound(&self, req: Request<pb::RecordInboundRequest>) -> Result<Response<pb::Message>, Status> {
        respond(async { delivery::inbound(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }

    async fn get_statistics(
        &self,
        req: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::GetStatisticsResponse>, Status> {
        respond(async { statistics::get(&self.state, &self.state.caller(&req).await?, req.get_ref()).await }).await
    }
}
