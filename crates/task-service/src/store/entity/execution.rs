//! `task_executions`: one row per attempt, written only by the claim holder.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "task_executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: String,
    pub business_id: String,
    pub tenant_id: Option<String>,
    pub execution_sequence: i32,
    pub claim_id: String,
    pub started_at: DateTimeUtc,
    pub duration_ms: i32,
    pub http_status: Option<i32>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub response_truncated: bool,
    pub error_message: Option<String>,
    pub retry_after: Option<DateTimeUtc>,
    pub success: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
