//! `tasks`: one delayed HTTP callback, its retry budget and its lease.
//! `headers`, `tags` and `retry_intervals` are JSON text.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub business_id: String,
    pub business_unique_id: String,
    pub tenant_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub schedule_id: Option<String>,
    pub callback_url: Option<String>,
    pub callback_method: Option<String>,
    pub headers: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub tags: String,
    pub priority: i16,
    pub scheduled_at: DateTimeUtc,
    pub next_execute_at: DateTimeUtc,
    pub retry_intervals: String,
    pub max_retries: i32,
    pub timeout_ms: i32,
    pub attempts: i32,
    /// `attempts` at the last manual retry: the schedule counts from here.
    pub attempts_base: i32,
    pub status: String,
    pub last_error: Option<String>,
    pub claim_id: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// W3C trace context of the request that created the task: its
    /// deliveries continue that trace.
    pub traceparent: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
