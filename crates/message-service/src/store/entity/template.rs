//! `message_templates` (seed 001): content with `{{ name }}` placeholders
//! and typed variables, unique by name per tenant.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "message_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub creator_id: String,
    pub template_name: String,
    pub template_type: String,
    pub category: Option<String>,
    pub description: Option<String>,
    /// JSON of `wework_client::MessageContent` with placeholders.
    pub template_content: String,
    /// JSON list of variable specs.
    pub variables: String,
    /// JSON object name → sample value.
    pub preview_data: Option<String>,
    pub usage_count: i64,
    pub last_used_time: Option<DateTimeUtc>,
    pub is_public: bool,
    pub is_active: bool,
    /// JSON list of strings.
    pub tags: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
