//! `wework_accounts` (seed 001): an account, its login state and the
//! watchdog's recovery bookkeeping. `version` makes every write a
//! compare-and-set, so concurrent transitions never overwrite each other.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wework_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub account_name: String,
    pub phone: String,
    pub email: String,
    pub remark: String,
    /// JSON list of strings.
    pub tags: String,
    /// JSON object.
    pub config: String,
    pub guid: Option<String>,
    pub instance_id: Option<String>,
    pub status: String,
    pub qr_code_url: Option<String>,
    pub qr_expires_at: Option<DateTimeUtc>,
    /// JSON of the WeWork user.
    pub user_info: Option<String>,
    pub last_login_time: Option<DateTimeUtc>,
    pub last_heartbeat_time: Option<DateTimeUtc>,
    pub login_retry_count: i32,
    pub recover_attempts: i32,
    /// When the watchdog next tries to restore the session (`None`: it does not).
    pub next_recover_at: Option<DateTimeUtc>,
    pub error_message: Option<String>,
    pub last_event_id: Option<String>,
    pub sync_status: String,
    pub last_sync_time: Option<DateTimeUtc>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
