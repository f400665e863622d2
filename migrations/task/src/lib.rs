//! Schema of the task center: business systems, webhook endpoints, tasks
//! with their lease columns, execution history, cron schedules and their
//! once-per-slot ticks.
//!
//! Contract (as for every service): runs unchanged on MySQL 8 / MariaDB 10.6+
//! and SQLite. No partial indexes, no partitioning, every index named, ids are
//! UUIDv7 strings (`varchar(36)`), JSON is `text` (the store (de)serialises it).

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without depending on sea-orm-migration.
pub use sea_orm_migration::MigratorTrait;

mod m20261123_000001_systems_endpoints;
mod m20261123_000002_tasks;
mod m20261123_000003_schedules;
mod m20261210_000004_traceparent;

/// Runs the task center's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_systems_endpoints::Migration),
            Box::new(m20261123_000002_tasks::Migration),
            Box::new(m20261123_000003_schedules::Migration),
            Box::new(m20261210_000004_traceparent::Migration),
        ]
    }
}

pub(crate) use migration_common::{id_col, index, table, ts};
