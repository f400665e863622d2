//! `contacts`: an account's WeWork contacts as the last directory sync saw
//! them; one the instance no longer lists is `removed`, not deleted.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// WeWork's user id.
    pub user_id: String,
    pub name: String,
    pub alias: String,
    pub avatar_url: String,
    /// `internal` or `external`.
    pub contact_type: String,
    pub corp_name: String,
    pub gender: i32,
    /// JSON list of strings; the instance's on first sight, the tenant's after.
    pub tags: String,
    pub remark: String,
    /// `active` or `removed`.
    pub status: String,
    /// Start of the last sync that saw the contact.
    pub last_sync_time: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
