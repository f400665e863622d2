//! `tenants`: one row per customer organisation; soft-deleted via status.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_code: String,
    pub name: String,
    pub status: String,
    pub max_accounts: i32,
    pub max_daily_messages: i32,
    pub webhook_url: Option<String>,
    /// JSON object as text (see `Model::config_value`).
    pub config: Option<String>,
    pub status_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The tenant's config parsed back into JSON.
    pub fn config_value(&self) -> Result<Option<serde_json::Value>, DbErr> {
        crate::store::json::parse_opt(self.config.as_deref())
    }
}
