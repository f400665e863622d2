//! `account_status_history`: one row per status transition, written in the
//! transition's transaction; `published_at` makes it the event outbox.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "account_status_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub old_status: Option<String>,
    pub new_status: String,
    pub reason: String,
    pub error_message: Option<String>,
    /// JSON object with the transition's context (e.g. the notify type).
    pub extra_data: Option<String>,
    pub operator_id: Option<String>,
    pub operator_type: String,
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
