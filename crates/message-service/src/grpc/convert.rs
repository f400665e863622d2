//! Conversions between stored rows and proto messages, and the proto enums
//! and timestamps the handlers parse. Stored rows are read back without
//! re-validation: limits may tighten later and old rows must stay readable,
//! so a row whose JSON no longer parses shows an empty content (logged)
//! rather than failing a whole list.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wework_client::protocol::{ChatType, MessageContent};
use wework_proto::message as pb;

use crate::domain::FieldError;
use crate::domain::content::{self, MessageBody};
use crate::domain::status::MessageStatus;
use crate::store::entity::message;
use crate::store::{IN, OUT};

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) })
}

pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.and_then(ts)
}

/// A request timestamp (field `field`); out-of-range values are refused.
pub fn from_ts(t: &Timestamp, field: &str) -> Result<DateTime<Utc>, FieldError> {
    u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .ok_or_else(|| FieldError::new(field, "not a valid timestamp"))
}

/// An optional request timestamp.
pub fn from_ts_opt(t: Option<&Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    t.map(|t| from_ts(t, field)).transpose()
}

/// The request's chat type (field `field`); unspecified is refused.
pub fn chat_type_from_proto(v: i32, field: &str) -> Result<ChatType, FieldError> {
    match pb::ChatType::try_from(v) {
        Ok(pb::ChatType::Private) => Ok(ChatType::Private),
        Ok(pb::ChatType::Group) => Ok(ChatType::Group),
        Ok(pb::ChatType::Unspecified) => Err(FieldError::new(field, "required: PRIVATE or GROUP")),
        Err(_) => Err(FieldError::new(field, "unknown chat type")),
    }
}

/// The stored name of a chat type (`private` | `group`).
pub fn chat_type_name(t: ChatType) -> &'static str {
    match t {
        ChatType::Private => "private",
        ChatType::Group => "group",
    }
}

fn chat_type_to_proto(stored: &str) -> i32 {
    (match stored {
        "private" => pb::ChatType::Private,
        "group" => pb::ChatType::Group,
        _ => pb::ChatType::Unspecified,
    }) as i32
}

/// The stored direction of a list filter (`out` | `in`); unspecified is no filter.
pub fn direction_from_proto(v: i32, field: &str) -> Result<Option<&'static str>, FieldError> {
    match pb::Direction::try_from(v) {
        Ok(pb::Direction::Unspecified) => Ok(None),
        Ok(pb::Direction::Out) => Ok(Some(OUT)),
        Ok(pb::Direction::In) => Ok(Some(IN)),
        Err(_) => Err(FieldError::new(field, "unknown direction")),
    }
}

fn direction_to_proto(stored: &str) -> i32 {
    (match stored {
        OUT => pb::Direction::Out,
        IN => pb::Direction::In,
        _ => pb::Direction::Unspecified,
    }) as i32
}

/// The stored content as the proto (`None` if the stored JSON is unreadable).
pub fn content_to_proto(row: &message::Model) -> Option<pb::Content> {
    match serde_json::from_str::<MessageContent>(&row.content) {
        Ok(c) => Some(content::to_proto(&c)),
        Err(e) => {
            tracing::warn!(message = %row.id, error = %e, "stored message content is unreadable");
            None
        }
    }
}

/// The stored `message_type` of a content that came from outside (an
/// inbound message), read the way the store reads contents: unchecked.
pub fn stored_kind(raw: &MessageContent) -> &'static str {
    let body: Option<MessageBody> = serde_json::to_value(raw).ok().and_then(|v| serde_json::from_value(v).ok());
    body.as_ref().map_or("text", content::kind)
}

pub fn message_to_proto(row: &message::Model) -> pb::Message {
    let at_list: Vec<String> = row.at_list.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
    pb::Message {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        account_id: row.account_id.clone(),
        conversation_id: row.conversation_id.clone(),
        chat_type: chat_type_to_proto(&row.chat_type),
        direction: direction_to_proto(&row.direction),
        content: content_to_proto(row),
        at_list,
        template_id: row.template_id.clone().unwrap_or_default(),
        status: MessageStatus::parse(&row.status)
            .map_or(pb::MessageStatus::Unspecified as i32, MessageStatus::to_proto),
        wework_msg_id: row.wework_msg_id.clone().unwrap_or_default(),
        send_time: ts_opt(row.send_time),
        callback_time: ts_opt(row.callback_time),
        error_code: row.error_code.clone().unwrap_or_default(),
        error_message: row.error_message.clone().unwrap_or_default(),
        retry_count: u32::try_from(row.retry_count).unwrap_or(0),
        batch_id: row.batch_id.clone().unwrap_or_default(),
        priority: u32::try_from(row.priority).unwrap_or(0),
        scheduled_time: ts_opt(row.scheduled_time),
        idempotency_key: row.idempotency_key.clone().unwrap_or_default(),
        sender_id: row.sender_id.clone().unwrap_or_default(),
        sender_name: row.sender_name.clone().unwrap_or_default(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_refuse_bad_nanos() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap_or_default();
        let p = ts(t).unwrap_or_default();
        assert_eq!(from_ts(&p, "at"), Ok(t));
        let bad = Timestamp { seconds: 1, nanos: -1 };
        assert_eq!(from_ts(&bad, "at").map_err(|e| e.field), Err("at".to_owned()));
        let bad = Timestamp { seconds: 1, nanos: 1_000_000_000 };
        assert!(from_ts(&bad, "x").is_err());
        let bad = Timestamp { seconds: i64::MAX, nanos: 0 };
        assert!(from_ts(&bad, "x").is_err());
    }

    #[test]
    fn enums_parse_and_name() {
        assert_eq!(chat_type_from_proto(pb::ChatType::Group as i32, "chat_type"), Ok(ChatType::Group));
        assert!(chat_type_from_proto(0, "chat_type").is_err());
        assert!(chat_type_from_proto(99, "chat_type").is_err());
        assert_eq!(direction_from_proto(0, "direction"), Ok(None));
        assert_eq!(direction_from_proto(pb::Direction::In as i32, "direction"), Ok(Some(IN)));
        assert!(direction_from_proto(7, "direction").is_err());
        assert_eq!(chat_type_to_proto("group"), pb::ChatType::Group as i32);
    }

    #[test]
    fn stored_kind_uses_the_seed_names() {
        let card = MessageContent::ContactCard { user_id: "u".into(), name: String::new() };
        assert_eq!(stored_kind(&card), "card");
        let long = MessageContent::Text { text: "x".repeat(10_000) };
        assert_eq!(stored_kind(&long), "text");
    }
}
