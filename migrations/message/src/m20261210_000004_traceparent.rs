//! The W3C `traceparent` of the request that stored a message, so its
//! dispatch (on any replica, after throttling or retries) and its events
//! continue that trace. NULL for messages stored without one (a batch's
//! messages, untraced callers) and for every message created before this
//! migration.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    Traceparent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // 55 characters in version 00; room for a later version's extra fields.
        m.alter_table(
            Table::alter()
                .table(Messages::Table)
                .add_column(ColumnDef::new(Messages::Traceparent).string_len(128).null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Messages::Table).drop_column(Messages::Traceparent).to_owned()).await
    }
}
