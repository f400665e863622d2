//! Every query of the task center, and nothing else.
//!
//! Contract: each function is generic over `C: ConnectionTrait` (so it runs
//! on a pool or inside a caller's transaction) except the lease paths, which
//! open their own. Every read or write a caller can reach is filtered by a
//! [`Scope`] built from the principal — a business system sees its own rows,
//! a tenant user its tenant's, the platform everything — so another owner's
//! row is simply not found. Result writes of the worker are conditional on
//! the claim id (see `wework_kit::lease`).

mod business;
mod claims;
mod endpoints;
pub mod entity;
mod executions;
mod json;
mod schedules;
mod stats;
mod tasks;

pub use business::*;
pub use claims::*;
pub use endpoints::*;
pub use executions::*;
pub use json::{from_json_list, to_json};
pub use schedules::*;
pub use stats::*;
pub use tasks::*;
pub use wework_kit::db::new_id;
pub use wework_kit::pagination::KeysetCursor as Cursor;

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Condition, SimpleExpr};

/// Whose rows a caller may see. Both `None` = the platform (everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub business_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl Scope {
    pub fn platform() -> Self {
        Self::default()
    }

    pub fn business(id: &str) -> Self {
        Self { business_id: Some(id.to_owned()), tenant_id: None }
    }

    pub fn tenant(id: &str) -> Self {
        Self { business_id: None, tenant_id: Some(id.to_owned()) }
    }

    pub fn is_platform(&self) -> bool {
        self.business_id.is_none() && self.tenant_id.is_none()
    }

    /// The scope as a condition on a table's `business_id` / `tenant_id` columns.
    pub(crate) fn condition<C: ColumnTrait>(&self, business_col: C, tenant_col: C) -> Condition {
        let mut c = Condition::all();
        if let Some(b) = &self.business_id {
            c = c.add::<SimpleExpr>(business_col.eq(b.as_str()));
        }
        if let Some(t) = &self.tenant_id {
            c = c.add::<SimpleExpr>(tenant_col.eq(t.as_str()));
        }
        c
    }
}

/// Status strings as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const RUNNING: &str = "running";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const ACTIVE: &str = "active";
    pub const DISABLED: &str = "disabled";
    pub const ENABLED: &str = "enabled";
}
