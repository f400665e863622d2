//! Schema of the account service: protocol instances, WeWork accounts and
//! their status history (the login state machine's trail), conversations,
//! contacts, groups and group members.
//!
//! Contract (as for every service): runs unchanged on MySQL 8 / MariaDB 10.6+
//! and SQLite. No partial indexes, no partitioning, every index named, ids are
//! UUIDv7 strings (`varchar(36)`), JSON is `text` (the store (de)serialises it).

use sea_orm_migration::prelude::*;

/// Re-exported so callers can run `Migrator::up` without depending on sea-orm-migration.
pub use sea_orm_migration::MigratorTrait;

pub(crate) use migration_common::{id_col, index, table, ts};

mod m20261130_000001_instances_accounts;
mod m20261130_000002_directory;

/// Runs the account service's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261130_000001_instances_accounts::Migration), Box::new(m20261130_000002_directory::Migration)]
    }
}
