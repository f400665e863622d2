//! Schema of the callback service: every callback received (instance and
//! official WeCom), durable before it is acknowledged and processed under a
//! lease, and the WeCom apps whose encrypted callbacks are accepted.
//!
//! Contract (as for every service): runs unchanged on MySQL 8 / MariaDB 10.6+
//! and SQLite. No partial indexes, no partitioning, every index named, ids
//! are UUIDv7 strings (`varchar(36)`), JSON is `text` (the store
//! (de)serialises it).

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without depending on sea-orm-migration.
pub use sea_orm_migration::MigratorTrait;

pub(crate) use migration_common::{id_col, index, table, ts};

mod m20261201_000001_callback_events;
mod m20261201_000002_wecom_apps;

/// Runs the callback service's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261201_000001_callback_events::Migration), Box::new(m20261201_000002_wecom_apps::Migration)]
    }
}
