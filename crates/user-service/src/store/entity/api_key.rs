//! `api_keys`: tenant API keys, stored as public prefix + SHA-256 of the secret.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub created_by: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    /// JSON array of permission strings, as text (see `Model::permission_list`).
    pub permissions: String,
    pub status: String,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The key's permission strings.
    pub fn permission_list(&self) -> Result<Vec<String>, DbErr> {
        crate::store::json::parse_list(&self.permissions)
    }
}
