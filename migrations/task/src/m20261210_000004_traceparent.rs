//! The W3C `traceparent` of the request that created a task, so its
//! deliveries (maybe days later, on another replica) continue that trace.
//! NULL for tasks created without one (cron runs, untraced callers) and for
//! every task created before this migration.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Traceparent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // 55 characters in version 00; room for a later version's extra fields.
        m.alter_table(
            Table::alter()
                .table(Tasks::Table)
                .add_column(ColumnDef::new(Tasks::Traceparent).string_len(128).null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Tasks::Table).drop_column(Tasks::Traceparent).to_owned()).await
    }
}
