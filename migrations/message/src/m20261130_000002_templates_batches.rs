//! Templates, batch sends and their receivers (seed 001/002).
//!
//! A batch expands its targets in chunks: `expand_cursor` is where the
//! expansion of an `import`/`group`/`filter` target stopped, so a restart
//! resumes there and a 100,000-receiver batch never sits in memory. Receivers
//! are unique per (batch, receiver key), which is what makes a resumed or
//! repeated expansion never add a receiver twice; each receiver's message is
//! created with idempotency key `batch:<batch>:<receiver>`. Counters are
//! updated with `SET x = x + n` in the transaction that changes the receiver
//! rows, so they stay exact. The batch row carries lease columns for the
//! replica that is expanding it.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum MessageTemplates {
    Table,
    Id,
    TenantId,
    CreatorId,
    TemplateName,
    TemplateType,
    Category,
    Description,
    TemplateContent,
    Variables,
    PreviewData,
    UsageCount,
    LastUsedTime,
    IsPublic,
    IsActive,
    Tags,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum BatchSendTasks {
    Table,
    Id,
    TenantId,
    CreatorId,
    TaskName,
    AccountId,
    TemplateId,
    MessageContent,
    TargetType,
    TargetConfig,
    SendStrategy,
    Status,
    TotalCount,
    ExpandedCount,
    ExpandCursor,
    ExpansionDone,
    SentCount,
    SuccessCount,
    FailedCount,
    CancelledCount,
    StartTime,
    EndTime,
    EstimatedDuration,
    ErrorMessage,
    ClaimId,
    ClaimedBy,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MessageReceivers {
    Table,
    Id,
    TenantId,
    BatchId,
    Seq,
    ReceiverKey,
    ReceiverName,
    ConversationId,
    ChatType,
    Variables,
    Status,
    MessageId,
    ErrorMessage,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use MessageTemplates as T;
        m.create_table(
            table(m, T::Table)
                .col(id_col(T::Id, 36).primary_key())
                .col(id_col(T::TenantId, 36))
                .col(ColumnDef::new(T::CreatorId).string_len(64).not_null())
                .col(ColumnDef::new(T::TemplateName).string_len(100).not_null())
                .col(ColumnDef::new(T::TemplateType).string_len(16).not_null())
                .col(ColumnDef::new(T::Category).string_len(50).null())
                .col(ColumnDef::new(T::Description).string_len(500).null())
                .col(ColumnDef::new(T::TemplateContent).text().not_null())
                .col(ColumnDef::new(T::Variables).text().not_null())
                .col(ColumnDef::new(T::PreviewData).text().null())
                .col(ColumnDef::new(T::UsageCount).big_integer().not_null().default(0))
                .col(ts(m, T::LastUsedTime, true))
                .col(ColumnDef::new(T::IsPublic).boolean().not_null().default(false))
                .col(ColumnDef::new(T::IsActive).boolean().not_null().default(true))
                .col(ColumnDef::new(T::Tags).text().not_null())
                .col(ts(m, T::CreatedAt, false))
                .col(ts(m, T::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = T::Table;
        m.create_index(index("uq_message_templates_tenant_name", t, &[T::TenantId, T::TemplateName], true)).await?;
        m.create_index(index("ix_message_templates_tenant_created", t, &[T::TenantId, T::CreatedAt, T::Id], false))
            .await?;

        use BatchSendTasks as B;
        m.create_table(
            table(m, B::Table)
                .col(id_col(B::Id, 36).primary_key())
                .col(id_col(B::TenantId, 36))
                .col(ColumnDef::new(B::CreatorId).string_len(64).not_null())
                .col(ColumnDef::new(B::TaskName).string_len(100).not_null())
                .col(id_col(B::AccountId, 36))
                .col(ColumnDef::new(B::TemplateId).string_len(36).null())
                .col(ColumnDef::new(B::MessageContent).text().not_null())
                .col(ColumnDef::new(B::TargetType).string_len(8).not_null())
                .col(ColumnDef::new(B::TargetConfig).text().not_null())
                .col(ColumnDef::new(B::SendStrategy).text().null())
                .col(ColumnDef::new(B::Status).string_len(12).not_null())
                .col(ColumnDef::new(B::TotalCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(B::ExpandedCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(B::ExpandCursor).text().null())
                .col(ColumnDef::new(B::ExpansionDone).boolean().not_null().default(false))
                .col(ColumnDef::new(B::SentCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(B::SuccessCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(B::FailedCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(B::CancelledCount).big_integer().not_null().default(0))
                .col(ts(m, B::StartTime, true))
                .col(ts(m, B::EndTime, true))
                .col(ColumnDef::new(B::EstimatedDuration).integer().null())
                .col(ColumnDef::new(B::ErrorMessage).text().null())
                .col(ColumnDef::new(B::ClaimId).string_len(36).null())
                .col(ColumnDef::new(B::ClaimedBy).string_len(128).null())
                .col(ts(m, B::LeaseUntil, true))
                .col(ts(m, B::CreatedAt, false))
                .col(ts(m, B::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let b = B::Table;
        m.create_index(index("ix_batch_send_tasks_tenant_created", b, &[B::TenantId, B::CreatedAt, B::Id], false))
            .await?;
        m.create_index(index("ix_batch_send_tasks_expanding", b, &[B::Status, B::ExpansionDone, B::LeaseUntil], false))
            .await?;
        m.create_index(index("ix_batch_send_tasks_account", b, &[B::AccountId, B::Status], false)).await?;

        use MessageReceivers as R;
        m.create_table(
            table(m, R::Table)
                .col(id_col(R::Id, 36).primary_key())
                .col(id_col(R::TenantId, 36))
                .col(id_col(R::BatchId, 36))
                // Order of the receiver in its batch (import row, listing order).
                .col(ColumnDef::new(R::Seq).big_integer().not_null())
                // What makes a receiver unique in its batch: the conversation id.
                .col(ColumnDef::new(R::ReceiverKey).string_len(100).not_null())
                .col(ColumnDef::new(R::ReceiverName).string_len(200).null())
                .col(ColumnDef::new(R::ConversationId).string_len(100).not_null())
                .col(ColumnDef::new(R::ChatType).string_len(8).not_null())
                .col(ColumnDef::new(R::Variables).text().null())
                .col(ColumnDef::new(R::Status).string_len(12).not_null())
                .col(ColumnDef::new(R::MessageId).string_len(36).null())
                .col(ColumnDef::new(R::ErrorMessage).text().null())
                .col(ts(m, R::CreatedAt, false))
                .col(ts(m, R::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let r = R::Table;
        m.create_index(index("uq_message_receivers_batch_key", r, &[R::BatchId, R::ReceiverKey], true)).await?;
        m.create_index(index("ix_message_receivers_batch_seq", r, &[R::BatchId, R::Seq], false)).await?;
        m.create_index(index("ix_message_receivers_batch_status", r, &[R::BatchId, R::Status, R::Seq], false)).await?;
        m.create_index(index("ix_message_receivers_message", r, &[R::MessageId], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MessageReceivers::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(BatchSendTasks::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(MessageTemplates::Table).to_owned()).await
    }
}
