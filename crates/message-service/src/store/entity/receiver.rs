//! `message_receivers` (seed 002): one receiver of a batch, unique per
//! (batch, receiver key), with its message once queued.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "message_receivers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub batch_id: String,
    pub seq: i64,
    pub receiver_key: String,
    pub receiver_name: Option<String>,
    pub conversation_id: String,
    pub chat_type: String,
    /// JSON object name → value for the template.
    pub variables: Option<String>,
    pub status: String,
    pub message_id: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
