//! `batch_send_tasks` (seed 001/002): one batch send, its targets, strategy,
//! progress counters and the expansion cursor of directory targets.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "batch_send_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub creator_id: String,
    pub task_name: String,
    pub account_id: String,
    pub template_id: Option<String>,
    /// JSON of the content (or the template's content) to send.
    pub message_content: String,
    /// `manual` | `import` | `group` | `filter`.
    pub target_type: String,
    /// JSON of the target (group id, filter); receivers themselves are rows.
    pub target_config: String,
    /// JSON of the send strategy.
    pub send_strategy: Option<String>,
    pub status: String,
    pub total_count: i64,
    pub expanded_count: i64,
    pub expand_cursor: Option<String>,
    pub expansion_done: bool,
    pub sent_count: i64,
    pub success_count: i64,
    pub failed_count: i64,
    pub cancelled_count: i64,
    pub start_time: Option<DateTimeUtc>,
    pub end_time: Option<DateTimeUtc>,
    pub estimated_duration: Option<i32>,
    pub error_message: Option<String>,
    pub claim_id: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
