//! sea-orm entities, one module per table. Relations are declared only where
//! a query joins; everything else filters by ids explicitly.

pub mod api_key;
pub mod audit_log;
pub mod daily_usage;
pub mod permission;
pub mod role;
pub mod role_permission;
pub mod session;
pub mod signing_key;
pub mod tenant;
pub mod user;
pub mod user_role;
