//! Schema of the user service: tenants, users, RBAC, sessions, API keys,
//! signing keys, the audit trail and the daily message quota counter.
//!
//! Contract: every migration runs unchanged on MySQL 8 / MariaDB 10.6+ and on
//! SQLite. Hence no partial indexes, no partitioning, every index named, ids
//! are UUIDv7 strings (`varchar(36)`) and JSON is stored as `text` (the store
//! (de)serialises it, so both backends behave the same).

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without depending on sea-orm-migration.
pub use sea_orm_migration::MigratorTrait;

mod m20261123_000001_tenants_users;
mod m20261123_000002_rbac;
mod m20261123_000003_sessions_keys;
mod m20261123_000004_audit_quota;
mod m20261123_000005_audit_actor;

/// Runs the user service's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_tenants_users::Migration),
            Box::new(m20261123_000002_rbac::Migration),
            Box::new(m20261123_000003_sessions_keys::Migration),
            Box::new(m20261123_000004_audit_quota::Migration),
            Box::new(m20261123_000005_audit_actor::Migration),
        ]
    }
}

pub(crate) use migration_common::{id_col, index, table, ts};
