//! Schema of the message service: messages (outgoing with their dispatch
//! lease columns, and inbound), templates, batch sends with one row per
//! receiver, and hourly statistics.
//!
//! Contract (as for every service): runs unchanged on MySQL 8 / MariaDB 10.6+
//! and SQLite. No partial indexes, no partitioning (the seed's
//! `PARTITION BY RANGE (YEAR(created_at))` is invalid with `PRIMARY KEY (id)`
//! in MySQL; retention is a job), every index named, ids are UUIDv7 strings
//! (`varchar(36)`), JSON is `text` (the store (de)serialises it).

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without depending on sea-orm-migration.
pub use sea_orm_migration::MigratorTrait;

pub(crate) use migration_common::{id_col, index, table, ts};

mod m20261130_000001_messages;
mod m20261130_000002_templates_batches;
mod m20261130_000003_inbound_sender;
mod m20261210_000004_traceparent;

/// Runs the message service's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_messages::Migration),
            Box::new(m20261130_000002_templates_batches::Migration),
            Box::new(m20261130_000003_inbound_sender::Migration),
            Box::new(m20261210_000004_traceparent::Migration),
        ]
    }
}
