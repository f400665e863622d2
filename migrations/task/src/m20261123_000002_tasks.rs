//! Tasks (with their lease columns) and the execution history.
//!
//! The claim query walks `ix_tasks_due` (status, priority, next_execute_at);
//! expired leases are found through `ix_tasks_lease` (status, lease_until).
//! `webhook-id` is the task id itself, so it needs no column. `attempts`
//! numbers executions and never goes back; a manual retry of a failed task
//! moves `attempts_base` up to it, which restarts the retry schedule.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    Id,
    BusinessId,
    BusinessUniqueId,
    TenantId,
    EndpointId,
    ScheduleId,
    CallbackUrl,
    CallbackMethod,
    Headers,
    ContentType,
    Body,
    Tags,
    Priority,
    ScheduledAt,
    NextExecuteAt,
    RetryIntervals,
    MaxRetries,
    TimeoutMs,
    Attempts,
    AttemptsBase,
    Status,
    LastError,
    ClaimId,
    ClaimedBy,
    LeaseUntil,
    FinishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TaskExecutions {
    Table,
    Id,
    TaskId,
    BusinessId,
    TenantId,
    ExecutionSequence,
    ClaimId,
    StartedAt,
    DurationMs,
    HttpStatus,
    ResponseHeaders,
    ResponseBody,
    ResponseTruncated,
    ErrorMessage,
    RetryAfter,
    Success,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Tasks as T;
        m.create_table(
            table(m, T::Table)
                .col(id_col(T::Id, 36).primary_key())
                .col(id_col(T::BusinessId, 36))
                .col(ColumnDef::new(T::BusinessUniqueId).string_len(191).not_null())
                .col(ColumnDef::new(T::TenantId).string_len(36).null())
                .col(ColumnDef::new(T::EndpointId).string_len(36).null())
                .col(ColumnDef::new(T::ScheduleId).string_len(36).null())
                .col(ColumnDef::new(T::CallbackUrl).text().null())
                .col(ColumnDef::new(T::CallbackMethod).string_len(8).null())
                .col(ColumnDef::new(T::Headers).text().null())
                .col(ColumnDef::new(T::ContentType).string_len(128).null())
                .col(ColumnDef::new(T::Body).blob().not_null())
                .col(ColumnDef::new(T::Tags).text().not_null())
                .col(ColumnDef::new(T::Priority).small_integer().not_null())
                .col(ts(m, T::ScheduledAt, false))
                .col(ts(m, T::NextExecuteAt, false))
                .col(ColumnDef::new(T::RetryIntervals).text().not_null())
                .col(ColumnDef::new(T::MaxRetries).integer().not_null())
                .col(ColumnDef::new(T::TimeoutMs).integer().not_null())
                .col(ColumnDef::new(T::Attempts).integer().not_null().default(0))
                .col(ColumnDef::new(T::AttemptsBase).integer().not_null().default(0))
                .col(ColumnDef::new(T::Status).string_len(16).not_null())
                .col(ColumnDef::new(T::LastError).text().null())
                .col(ColumnDef::new(T::ClaimId).string_len(36).null())
                .col(ColumnDef::new(T::ClaimedBy).string_len(128).null())
                .col(ts(m, T::LeaseUntil, true))
                .col(ts(m, T::FinishedAt, true))
                .col(ts(m, T::CreatedAt, false))
                .col(ts(m, T::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = T::Table;
        m.create_index(index("uq_tasks_business_unique", t, &[T::BusinessId, T::BusinessUniqueId], true)).await?;
        // Matches the claim order (priority DESC, next_execute_at ASC) so the
        // claim reads the first due rows off the index instead of sorting
        // every pending task (MySQL 8 and MariaDB 10.8+ keep DESC columns).
        m.create_index(
            Index::create()
                .name("ix_tasks_due")
                .table(t)
                .col(T::Status)
                .col((T::Priority, IndexOrder::Desc))
                .col((T::NextExecuteAt, IndexOrder::Asc))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_tasks_lease", t, &[T::Status, T::LeaseUntil], false)).await?;
        m.create_index(index("ix_tasks_claim", t, &[T::ClaimId], false)).await?;
        m.create_index(index("ix_tasks_business_created", t, &[T::BusinessId, T::CreatedAt, T::Id], false)).await?;
        m.create_index(index("ix_tasks_tenant_created", t, &[T::TenantId, T::CreatedAt, T::Id], false)).await?;
        m.create_index(index("ix_tasks_endpoint_status", t, &[T::EndpointId, T::Status], false)).await?;
        m.create_index(index("ix_tasks_created", t, &[T::CreatedAt, T::Id], false)).await?;

        use TaskExecutions as X;
        m.create_table(
            table(m, X::Table)
                .col(id_col(X::Id, 36).primary_key())
                .col(id_col(X::TaskId, 36))
                .col(id_col(X::BusinessId, 36))
                .col(ColumnDef::new(X::TenantId).string_len(36).null())
                .col(ColumnDef::new(X::ExecutionSequence).integer().not_null())
                .col(id_col(X::ClaimId, 36))
                .col(ts(m, X::StartedAt, false))
                .col(ColumnDef::new(X::DurationMs).integer().not_null())
                .col(ColumnDef::new(X::HttpStatus).integer().null())
                .col(ColumnDef::new(X::ResponseHeaders).text().null())
                .col(ColumnDef::new(X::ResponseBody).text().null())
                .col(ColumnDef::new(X::ResponseTruncated).boolean().not_null().default(false))
                .col(ColumnDef::new(X::ErrorMessage).text().null())
                .col(ts(m, X::RetryAfter, true))
                .col(ColumnDef::new(X::Success).boolean().not_null())
                .to_owned(),
        )
        .await?;
        let x = X::Table;
        m.create_index(index("uq_task_executions_sequence", x, &[X::TaskId, X::ExecutionSequence], true)).await?;
        m.create_index(index("ix_task_executions_started", x, &[X::StartedAt], false)).await?;
        m.create_index(index("ix_task_executions_business_started", x, &[X::BusinessId, X::StartedAt], false)).await?;
        m.create_index(index("ix_task_executions_tenant_started", x, &[X::TenantId, X::StartedAt], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TaskExecutions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Tasks::Table).to_owned()).await
    }
}
