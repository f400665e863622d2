//! `audit_logs`: append-only record of every mutating operation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub principal_kind: String,
    /// Who acted, for rows recorded by other services (no user id).
    pub actor: Option<String>,
    pub operation: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// JSON as text (see `Model::old_value_json`).
    pub old_value: Option<String>,
    /// JSON as text (see `Model::new_value_json`).
    pub new_value: Option<String>,
    pub result: String,
    pub error_message: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub service: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn old_value_json(&self) -> Result<Option<serde_json::Value>, DbErr> {
        crate::store::json::parse_opt(self.old_value.as_deref())
    }

    pub fn new_value_json(&self) -> Result<Option<serde_json::Value>, DbErr> {
        crate::store::json::parse_opt(self.new_value.as_deref())
    }
}
