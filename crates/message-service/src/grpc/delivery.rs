//! What the instances report, relayed by the callback service (service
//! principals only): receipts (`UpdateDeliveryStatus`), which only ever move
//! a message forward, and inbound messages (`RecordInbound`), stored once per
//! (account, WeWork message id) and never counted as sends.

use chrono::{DateTime, Utc};
use wework_proto::message as pb;

use super::context::Caller;
use super::convert::{chat_type_from_proto, chat_type_name, from_ts_opt, message_to_proto, stored_kind};
use super::send::{MAX_CONVERSATION_CHARS, id_problem};
use crate::domain::FieldError;
use crate::domain::content::from_proto;
use crate::domain::status::MessageStatus;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, NewMessage, Receipt, ReceiptFor};

/// `wework_msg_id` column width.
pub const MAX_WEWORK_MSG_ID_CHARS: usize = 100;
/// Columns of who wrote an inbound message.
const MAX_SENDER_ID_CHARS: usize = 100;
const MAX_SENDER_NAME_CHARS: usize = 200;

/// Ids of inbound messages: `in:<account>:<wework id>` must fit the
/// 128-character idempotency key.
pub const MAX_INBOUND_ACCOUNT_CHARS: usize = 36;
pub const MAX_INBOUND_WEWORK_ID_CHARS: usize = 88;
/// `error_code` column width.
pub const MAX_ERROR_CODE_CHARS: usize = 50;
pub const MAX_ERROR_MESSAGE_CHARS: usize = 2_000;

/// A parsed receipt and the message it names.
#[derive(Debug)]
pub struct ParsedReceipt {
    pub by_id: bool,
    pub key: String,
    pub receipt: Receipt,
}

pub fn parse_receipt(r: &pb::UpdateDeliveryStatusRequest, now: DateTime<Utc>) -> Result<ParsedReceipt> {
    let mut errors = Vec::new();
    let (id, wework_id) = (r.message_id.trim(), r.wework_msg_id.trim());
    let (by_id, key) = match (id.is_empty(), wework_id.is_empty()) {
        (false, true) => (true, id),
        (true, false) => (false, wework_id),
        _ => {
            errors.push(FieldError::new("message_id", "give exactly one of message_id and wework_msg_id"));
            (true, "")
        }
    };
    if !key.is_empty() {
        let (field, max) = if by_id { ("message_id", 64) } else { ("wework_msg_id", MAX_WEWORK_MSG_ID_CHARS) };
        if let Some(p) = id_problem(key, max) {
            errors.push(FieldError::new(field, p));
        }
    }
    let status = match MessageStatus::from_proto(r.status) {
        Some(s @ (MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Failed)) => s,
        _ => {
            errors.push(FieldError::new("status", "must be SENT, DELIVERED or FAILED"));
            MessageStatus::Failed
        }
    };
    let error_code = Some(r.error_code.trim().to_owned()).filter(|c| !c.is_empty());
    if error_code.as_ref().is_some_and(|c| c.chars().count() > MAX_ERROR_CODE_CHARS) {
        errors.push(FieldError::new("error_code", format!("at most {MAX_ERROR_CODE_CHARS} characters")));
    }
    let error_message = Some(r.error_message.trim().to_owned()).filter(|c| !c.is_empty());
    if error_message.as_ref().is_some_and(|c| c.chars().count() > MAX_ERROR_MESSAGE_CHARS) {
        errors.push(FieldError::new("error_message", format!("at most {MAX_ERROR_MESSAGE_CHARS} characters")));
    }
    let at = from_ts_opt(r.at.as_ref(), "at").map_err(|e| errors.push(e)).ok().flatten();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let wework_msg_id = (!by_id).then(|| key.to_owned());
    let receipt = Receipt { status, at: at.unwrap_or(now), wework_msg_id, error_code, error_message };
    Ok(ParsedReceipt { by_id, key: key.to_owned(), receipt })
}

/// `UpdateDeliveryStatus`: applied once, forward only; a late or repeated
/// receipt answers `applied = false` with the message as it is.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    r: &pb::UpdateDeliveryStatusRequest,
) -> Result<pb::UpdateDeliveryStatusResponse> {
    caller.require_service()?;
    let now = state.clock.now();
    let parsed = parse_receipt(r, now)?;
    let target = if parsed.by_id { ReceiptFor::Id(&parsed.key) } else { ReceiptFor::WeworkId(&parsed.key) };
    let conn = state.db.writer();
    let outcome = wework_kit::db::retry_transient(|| store::apply_receipt(conn, target, &parsed.receipt, now)).await?;
    let (row, applied) = outcome.ok_or(Error::NotFound("message"))?;
    if applied {
        state.events.status_changed(&row, parsed.receipt.status.as_str());
    }
    Ok(pb::UpdateDeliveryStatusResponse { message: Some(message_to_proto(&row)), applied })
}

/// `RecordInbound`: stored as sent (checked for shape only — what arrived
/// is kept whole, even past our own send limits), idempotent per account
/// and WeWork message id; `message.received` goes out once.
pub async fn inbound(state: &AppState, caller: &Caller, r: &pb::RecordInboundRequest) -> Result<pb::Message> {
    caller.require_service()?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let account_id = r.account_id.trim();
    if let Some(p) = id_problem(account_id, MAX_INBOUND_ACCOUNT_CHARS) {
        errors.push(FieldError::new("account_id", p));
    }
    let wework_msg_id = r.wework_msg_id.trim();
    if let Some(p) = id_problem(wework_msg_id, MAX_INBOUND_WEWORK_ID_CHARS) {
        errors.push(FieldError::new("wework_msg_id", p));
    }
    let conversation_id = r.conversation_id.trim();
    if let Some(p) = id_problem(conversation_id, MAX_CONVERSATION_CHARS) {
        errors.push(FieldError::new("conversation_id", p));
    }
    let sender_id = r.sender_id.trim();
    if sender_id.chars().count() > MAX_SENDER_ID_CHARS {
        errors.push(FieldError::new("sender_id", format!("must be at most {MAX_SENDER_ID_CHARS} characters")));
    }
    let sender_name = r.sender_name.trim();
    if sender_name.chars().count() > MAX_SENDER_NAME_CHARS {
        errors.push(FieldError::new("sender_name", format!("must be at most {MAX_SENDER_NAME_CHARS} characters")));
    }
    let chat_type = chat_type_from_proto(r.chat_type, "chat_type").map_err(|e| errors.push(e)).ok();
    let content = r.content.as_ref().and_then(|c| c.kind.as_ref()).map(from_proto);
    if content.is_none() {
        errors.push(FieldError::new("content", "required: the message's content"));
    }
    let sent_at = from_ts_opt(r.sent_at.as_ref(), "sent_at").map_err(|e| errors.push(e)).ok().flatten();
    let (Some(chat_type), Some(content)) = (chat_type, content) else { return Err(Error::Invalid(errors)) };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let target = state.targets.get(account_id).await?;
    let message = NewMessage {
        tenant_id: target.tenant_id.clone(),
        account_id: account_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        chat_type: chat_type_name(chat_type).to_owned(),
        direction: store::IN,
        message_type: stored_kind(&content).to_owned(),
        content: store::to_json(&content),
        at_list: (!r.at_list.is_empty()).then(|| store::to_json(&r.at_list)),
        template_id: None,
        status: MessageStatus::Delivered,
        wework_msg_id: Some(wework_msg_id.to_owned()),
        send_time: Some(sent_at.unwrap_or(now)),
        batch_id: None,
        receiver_id: None,
        priority: super::send::DEFAULT_PRIORITY,
        scheduled_time: None,
        next_attempt_at: None,
        idempotency_key: Some(format!("in:{account_id}:{wework_msg_id}")),
        sender_id: Some(sender_id.to_owned()).filter(|s| !s.is_empty()),
        sender_name: Some(sender_name.to_owned()).filter(|s| !s.is_empty()),
        // The callback's trace: its `message.received` event continues it.
        traceparent: wework_kit::telemetry::current_traceparent(),
    };
    let (row, created) = state
        .inserter
        .create(vec![message])
        .await?
        .pop()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("the inserter returned no row")))?;
    if created {
        state.events.emit(&row, "message.received");
    }
    Ok(message_to_proto(&row))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "delivery_tests.rs"]
mod tests;
