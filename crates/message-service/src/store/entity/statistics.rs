//! `message_statistics`: counters per tenant, account and UTC hour of the
//! messages' creation. Sums, not averages, so concurrent upserts stay exact.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "message_statistics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// `YYYY-MM-DD` (UTC).
    pub stat_date: String,
    pub stat_hour: i16,
    pub total_count: i64,
    pub sent_count: i64,
    pub delivered_count: i64,
    pub failed_count: i64,
    pub latency_sum_ms: i64,
    pub latency_samples: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
