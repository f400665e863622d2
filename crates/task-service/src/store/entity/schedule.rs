//! `task_schedules`: cron expressions with a task template (JSON text).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "task_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub business_id: String,
    pub tenant_id: Option<String>,
    /// `tenant:<id>` for a tenant's schedule, else empty: names are unique per owner.
    pub owner: String,
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    pub template: String,
    pub active: bool,
    pub missed_slot_policy: String,
    pub last_run_at: Option<DateTimeUtc>,
    pub next_run_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
