//! `group_members`: who is in each group of an account; one the instance no
//! longer lists is `left` with `left_at`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub account_id: String,
    pub group_id: String,
    pub user_id: String,
    pub name: String,
    pub group_nickname: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub joined_at: Option<DateTimeUtc>,
    /// `active` or `left`.
    pub status: String,
    pub left_at: Option<DateTimeUtc>,
    pub last_sync_time: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
