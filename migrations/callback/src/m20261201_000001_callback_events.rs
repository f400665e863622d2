//! Callback events (seed 001 `callback_events`, extended).
//!
//! A row is inserted as `received` before the sender gets its 200, so the
//! insert is the whole ingest cost: `dedup_key` is UNIQUE and a duplicate
//! insert is how a re-sent callback is recognised (answered 200, not
//! processed again). `source` is `instance` (the `{guid, notify_type, data}`
//! envelope) or `wecom` (an official WeCom app, `app_id` set, `notify_type`
//! 0, `guid` the message's `ToUserName`, i.e. the receiving corp). `tenant_id`
//! and `account_id` stay NULL until the processor resolves the guid.
//!
//! Processing follows `wework_kit::lease`: the claim walks
//! `ix_callback_events_due` (status, next_attempt_at) and stamps
//! `claim_id`/`claimed_by`/`lease_until`; expired leases are found through
//! the same index (few rows are `processing` at any time). Every index
//! costs ingest (each insert writes every one), so there are no others
//! than the claim, the order and the API's filters need. Status: received | processing | processed |
//! failed | ignored.
//!
//! `order_key` is the guid for status events (login, QR, logout, …), whose
//! order matters, and NULL for the rest: the claim skips a status event
//! while an earlier one of the same key still waits or runs
//! (`ix_callback_events_order`).

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CallbackEvents {
    Table,
    Id,
    TenantId,
    AccountId,
    Guid,
    NotifyType,
    EventType,
    Source,
    AppId,
    DedupKey,
    OrderKey,
    RawData,
    ParsedData,
    Status,
    Error,
    RetryCount,
    NextAttemptAt,
    ClaimId,
    ClaimedBy,
    LeaseUntil,
    ProcessTime,
    ReceivedTime,
    SourceIp,
    UserAgent,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use CallbackEvents as E;
        m.create_table(
            table(m, E::Table)
                .col(id_col(E::Id, 36).primary_key())
                .col(ColumnDef::new(E::TenantId).string_len(36).null())
                .col(ColumnDef::new(E::AccountId).string_len(36).null())
                .col(ColumnDef::new(E::Guid).string_len(100).not_null())
                .col(ColumnDef::new(E::NotifyType).integer().not_null())
                .col(ColumnDef::new(E::EventType).string_len(64).not_null())
                .col(ColumnDef::new(E::Source).string_len(8).not_null())
                .col(ColumnDef::new(E::AppId).string_len(36).null())
                // Built by callback_service::domain::dedup, which keeps keys within 160.
                .col(ColumnDef::new(E::DedupKey).string_len(160).not_null())
                .col(ColumnDef::new(E::OrderKey).string_len(100).null())
                .col(ColumnDef::new(E::RawData).text().not_null())
                .col(ColumnDef::new(E::ParsedData).text().null())
                .col(ColumnDef::new(E::Status).string_len(12).not_null())
                .col(ColumnDef::new(E::Error).text().null())
                .col(ColumnDef::new(E::RetryCount).integer().not_null().default(0))
                .col(ts(m, E::NextAttemptAt, false))
                .col(ColumnDef::new(E::ClaimId).string_len(36).null())
                .col(ColumnDef::new(E::ClaimedBy).string_len(128).null())
                .col(ts(m, E::LeaseUntil, true))
                .col(ts(m, E::ProcessTime, true))
                .col(ts(m, E::ReceivedTime, false))
                // 45: the longest textual IPv6 address (IPv4-mapped).
                .col(ColumnDef::new(E::SourceIp).string_len(45).null())
                .col(ColumnDef::new(E::UserAgent).string_len(512).null())
                .col(ts(m, E::CreatedAt, false))
                .col(ts(m, E::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = E::Table;
        m.create_index(index("uq_callback_events_dedup", t, &[E::DedupKey], true)).await?;
        m.create_index(index("ix_callback_events_due", t, &[E::Status, E::NextAttemptAt], false)).await?;
        m.create_index(index("ix_callback_events_claim", t, &[E::ClaimId], false)).await?;
        m.create_index(index("ix_callback_events_order", t, &[E::OrderKey, E::ReceivedTime], false)).await?;
        m.create_index(index("ix_callback_events_guid_received", t, &[E::Guid, E::ReceivedTime], false)).await?;
        m.create_index(index("ix_callback_events_tenant_received", t, &[E::TenantId, E::ReceivedTime, E::Id], false))
            .await?;
        m.create_index(index("ix_callback_events_account_received", t, &[E::AccountId, E::ReceivedTime], false))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CallbackEvents::Table).to_owned()).await
    }
}
