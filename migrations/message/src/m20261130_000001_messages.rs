//! Messages (seed 001 `messages`, corrected) and hourly statistics.
//!
//! One table holds outgoing and inbound messages (`direction`). Outgoing
//! rows carry the dispatcher's lease columns (`claim_id`, `claimed_by`,
//! `lease_until`, see `wework_kit::lease`) and `next_attempt_at`, the time a
//! pending row is due (its `scheduled_time`, a retry's backoff, or the end
//! of an account's throttle pause). The claim walks `ix_messages_due`
//! (status, priority DESC, next_attempt_at). `idempotency_key` is unique per
//! tenant (NULLs repeat freely on both backends). Statistics keep sums and
//! counts, not averages, so concurrent upserts stay exact.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Messages {
    Table,
    Id,
    TenantId,
    AccountId,
    ConversationId,
    ChatType,
    Direction,
    MessageType,
    Content,
    AtList,
    TemplateId,
    Status,
    WeworkMsgId,
    SendTime,
    CallbackTime,
    ErrorCode,
    ErrorMessage,
    RetryCount,
    BatchId,
    ReceiverId,
    Priority,
    ScheduledTime,
    NextAttemptAt,
    IdempotencyKey,
    ClaimId,
    ClaimedBy,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MessageStatistics {
    Table,
    Id,
    TenantId,
    AccountId,
    StatDate,
    StatHour,
    TotalCount,
    SentCount,
    DeliveredCount,
    FailedCount,
    LatencySumMs,
    LatencySamples,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Messages as M;
        m.create_table(
            table(m, M::Table)
                .col(id_col(M::Id, 36).primary_key())
                .col(id_col(M::TenantId, 36))
                .col(id_col(M::AccountId, 36))
                .col(ColumnDef::new(M::ConversationId).string_len(100).not_null())
                .col(ColumnDef::new(M::ChatType).string_len(8).not_null())
                .col(ColumnDef::new(M::Direction).string_len(3).not_null())
                .col(ColumnDef::new(M::MessageType).string_len(16).not_null())
                .col(ColumnDef::new(M::Content).text().not_null())
                .col(ColumnDef::new(M::AtList).text().null())
                .col(ColumnDef::new(M::TemplateId).string_len(36).null())
                .col(ColumnDef::new(M::Status).string_len(12).not_null())
                .col(ColumnDef::new(M::WeworkMsgId).string_len(100).null())
                .col(ts(m, M::SendTime, true))
                .col(ts(m, M::CallbackTime, true))
                .col(ColumnDef::new(M::ErrorCode).string_len(50).null())
                .col(ColumnDef::new(M::ErrorMessage).text().null())
                .col(ColumnDef::new(M::RetryCount).integer().not_null().default(0))
                .col(ColumnDef::new(M::BatchId).string_len(36).null())
                .col(ColumnDef::new(M::ReceiverId).string_len(36).null())
                .col(ColumnDef::new(M::Priority).small_integer().not_null())
                .col(ts(m, M::ScheduledTime, true))
                .col(ts(m, M::NextAttemptAt, true))
                .col(ColumnDef::new(M::IdempotencyKey).string_len(128).null())
                .col(ColumnDef::new(M::ClaimId).string_len(36).null())
                .col(ColumnDef::new(M::ClaimedBy).string_len(128).null())
                .col(ts(m, M::LeaseUntil, true))
                .col(ts(m, M::CreatedAt, false))
                .col(ts(m, M::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = M::Table;
        m.create_index(index("uq_messages_tenant_idempotency", t, &[M::TenantId, M::IdempotencyKey], true)).await?;
        // Matches the claim order (priority DESC, next_attempt_at ASC).
        m.create_index(
            Index::create()
                .name("ix_messages_due")
                .table(t)
                .col(M::Status)
                .col((M::Priority, IndexOrder::Desc))
                .col((M::NextAttemptAt, IndexOrder::Asc))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_messages_lease", t, &[M::Status, M::LeaseUntil], false)).await?;
        m.create_index(index("ix_messages_claim", t, &[M::ClaimId], false)).await?;
        m.create_index(index("ix_messages_tenant_created", t, &[M::TenantId, M::CreatedAt, M::Id], false)).await?;
        m.create_index(index("ix_messages_account_created", t, &[M::AccountId, M::CreatedAt, M::Id], false)).await?;
        m.create_index(index("ix_messages_conversation", t, &[M::AccountId, M::ConversationId, M::CreatedAt], false))
            .await?;
        m.create_index(index("ix_messages_batch_status", t, &[M::BatchId, M::Status], false)).await?;
        m.create_index(index("ix_messages_wework_msg", t, &[M::WeworkMsgId], false)).await?;
        m.create_index(index("ix_messages_created", t, &[M::CreatedAt, M::Id], false)).await?;

        use MessageStatistics as S;
        m.create_table(
            table(m, S::Table)
                .col(id_col(S::Id, 36).primary_key())
                .col(id_col(S::TenantId, 36))
                .col(id_col(S::AccountId, 36))
                // `YYYY-MM-DD` in UTC: sorts and compares the same on both backends.
                .col(ColumnDef::new(S::StatDate).string_len(10).not_null())
                .col(ColumnDef::new(S::StatHour).small_integer().not_null())
                .col(ColumnDef::new(S::TotalCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(S::SentCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(S::DeliveredCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(S::FailedCount).big_integer().not_null().default(0))
                .col(ColumnDef::new(S::LatencySumMs).big_integer().not_null().default(0))
                .col(ColumnDef::new(S::LatencySamples).big_integer().not_null().default(0))
                .col(ts(m, S::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let s = S::Table;
        m.create_index(index(
            "uq_message_statistics_slot",
            s,
            &[S::TenantId, S::AccountId, S::StatDate, S::StatHour],
            true,
        ))
        .await?;
        m.create_index(index("ix_message_statistics_tenant_date", s, &[S::TenantId, S::StatDate, S::StatHour], false))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(MessageStatistics::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Messages::Table).to_owned()).await
    }
}
