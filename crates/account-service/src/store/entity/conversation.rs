//! `conversations`: one row per WeWork chat of an account, upserted by every
//! inbound message (11010) and outbound send; the user marks it read, pins
//! and tags it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// WeWork's chat id: a user id (private) or a room id (group).
    pub conversation_id: String,
    pub conversation_name: String,
    /// `private` or `group`.
    pub conversation_type: String,
    pub avatar_url: String,
    pub member_count: i32,
    pub last_msg_time: DateTimeUtc,
    /// A text summary of the last message, at most 200 characters.
    pub last_msg_content: String,
    /// WeWork's id of the last message recorded (a re-sent callback of the
    /// same message is not counted twice).
    pub last_msg_id: Option<String>,
    pub unread_count: i32,
    pub is_active: bool,
    pub is_pinned: bool,
    /// JSON list of strings.
    pub tags: String,
    /// JSON object.
    pub extra_info: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
