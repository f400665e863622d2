//! `business_systems`: callers of the task center. The api secret is a
//! SHA-256 hex; signing secrets are sealed with the master key.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "business_systems")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub business_code: String,
    pub business_name: String,
    pub api_key: String,
    pub api_secret_hash: String,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub rate_limit: i32,
    pub status: String,
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
