//! `groups`: the group chats an account is in, as the last directory sync
//! saw them; one the instance no longer lists is `left`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    /// WeWork's room id.
    pub group_id: String,
    pub name: String,
    pub owner_id: String,
    pub member_count: i32,
    pub notice: String,
    /// `active` or `left`.
    pub status: String,
    pub last_sync_time: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
