//! `messages` (seed 001, corrected): outgoing messages with the dispatcher's
//! lease columns, and inbound ones (`direction = in`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub conversation_id: String,
    /// `private` | `group`.
    pub chat_type: String,
    /// `out` | `in`.
    pub direction: String,
    /// Seed names: text, image, file, link, miniprogram, at, video, card, location.
    pub message_type: String,
    /// JSON of `wework_client::MessageContent`.
    pub content: String,
    /// JSON list of user ids (`all` for everyone).
    pub at_list: Option<String>,
    pub template_id: Option<String>,
    pub status: String,
    pub wework_msg_id: Option<String>,
    pub send_time: Option<DateTimeUtc>,
    pub callback_time: Option<DateTimeUtc>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_count: i32,
    pub batch_id: Option<String>,
    pub receiver_id: Option<String>,
    pub priority: i16,
    pub scheduled_time: Option<DateTimeUtc>,
    /// When a pending message is due (`None`: held, e.g. its batch is paused).
    pub next_attempt_at: Option<DateTimeUtc>,
    pub idempotency_key: Option<String>,
    pub claim_id: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    /// Who wrote an inbound message (NULL for outgoing ones).
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// W3C trace context of the request that stored the message: its
    /// dispatch and its events continue that trace.
    pub traceparent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
