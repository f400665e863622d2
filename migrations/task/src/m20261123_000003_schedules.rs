//! Cron schedules and their ticks. A tick's primary key (schedule_id, slot)
//! is what makes N replicas create exactly one task per slot. Names are
//! unique per (business system, owner): tenants share the `platform`
//! system, so `owner` (`tenant:<id>`, or empty) keeps their names apart.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum TaskSchedules {
    Table,
    Id,
    BusinessId,
    TenantId,
    Owner,
    Name,
    Cron,
    TimeZone,
    Template,
    Active,
    MissedSlotPolicy,
    LastRunAt,
    NextRunAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ScheduleTicks {
    Table,
    ScheduleId,
    Slot,
    TaskId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use TaskSchedules as S;
        m.create_table(
            table(m, S::Table)
                .col(id_col(S::Id, 36).primary_key())
                .col(id_col(S::BusinessId, 36))
                .col(ColumnDef::new(S::TenantId).string_len(36).null())
                .col(ColumnDef::new(S::Owner).string_len(64).not_null())
                .col(ColumnDef::new(S::Name).string_len(128).not_null())
                .col(ColumnDef::new(S::Cron).string_len(128).not_null())
                .col(ColumnDef::new(S::TimeZone).string_len(64).not_null())
                .col(ColumnDef::new(S::Template).text().not_null())
                .col(ColumnDef::new(S::Active).boolean().not_null())
                .col(ColumnDef::new(S::MissedSlotPolicy).string_len(16).not_null())
                .col(ts(m, S::LastRunAt, true))
                .col(ts(m, S::NextRunAt, true))
                .col(ts(m, S::CreatedAt, false))
                .col(ts(m, S::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let s = S::Table;
        m.create_index(index("uq_task_schedules_owner_name", s, &[S::BusinessId, S::Owner, S::Name], true)).await?;
        m.create_index(index("ix_task_schedules_due", s, &[S::Active, S::NextRunAt], false)).await?;
        m.create_index(index("ix_task_schedules_created", s, &[S::CreatedAt, S::Id], false)).await?;

        use ScheduleTicks as K;
        m.create_table(
            table(m, K::Table)
                .col(id_col(K::ScheduleId, 36))
                .col(ts(m, K::Slot, false))
                .col(id_col(K::TaskId, 36))
                .col(ts(m, K::CreatedAt, false))
                .primary_key(Index::create().name("pk_schedule_ticks").col(K::ScheduleId).col(K::Slot))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ScheduleTicks::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(TaskSchedules::Table).to_owned()).await
    }
}
