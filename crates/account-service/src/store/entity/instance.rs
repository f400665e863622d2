//! `wework_instances`: protocol instances with their sealed token and proxy
//! password, capacity and liveness.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wework_instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub api_url: String,
    /// Sealed with the service's secret box; never leaves the service.
    pub token_sealed: String,
    pub status: String,
    pub max_accounts: i32,
    pub account_count: i32,
    /// JSON of the proxy without its password.
    pub proxy_config: Option<String>,
    pub proxy_password_sealed: Option<String>,
    pub region: String,
    pub boot_id: String,
    pub version: String,
    pub restart_count: i32,
    pub last_heartbeat_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
