//! `callback_events` (seed 001, extended with dedup, ordering and lease columns).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "callback_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: Option<String>,
    pub account_id: Option<String>,
    pub guid: String,
    pub notify_type: i32,
    pub event_type: String,
    /// `instance` or `wecom`.
    pub source: String,
    pub app_id: Option<String>,
    pub dedup_key: String,
    /// The guid for status events (applied in order), else NULL.
    pub order_key: Option<String>,
    pub raw_data: String,
    /// JSON: the typed event and what processing made of it.
    pub parsed_data: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub retry_count: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claim_id: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub process_time: Option<DateTimeUtc>,
    pub received_time: DateTimeUtc,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
