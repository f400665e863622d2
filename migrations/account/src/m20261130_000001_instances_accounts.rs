//! Protocol instances, WeWork accounts (seed 001, with the lease and recovery
//! columns the watchdog needs) and the status history every transition
//! writes. Seed fixes: the history table is not partitioned (MySQL rejects a
//! partition column outside the primary key) and its id is a UUIDv7 string.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum WeworkInstances {
    Table,
    Id,
    Name,
    ApiUrl,
    TokenSealed,
    Status,
    MaxAccounts,
    AccountCount,
    ProxyConfig,
    ProxyPasswordSealed,
    Region,
    BootId,
    Version,
    RestartCount,
    LastHeartbeatAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WeworkAccounts {
    Table,
    Id,
    TenantId,
    UserId,
    AccountName,
    Phone,
    Email,
    Remark,
    Tags,
    Config,
    Guid,
    InstanceId,
    Status,
    QrCodeUrl,
    QrExpiresAt,
    UserInfo,
    LastLoginTime,
    LastHeartbeatTime,
    LoginRetryCount,
    RecoverAttempts,
    NextRecoverAt,
    ErrorMessage,
    LastEventId,
    SyncStatus,
    LastSyncTime,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccountStatusHistory {
    Table,
    Id,
    TenantId,
    AccountId,
    OldStatus,
    NewStatus,
    Reason,
    ErrorMessage,
    ExtraData,
    OperatorId,
    OperatorType,
    /// Set once `account.status_changed` reached the task center: the
    /// history doubles as the event outbox.
    PublishedAt,
    CreatedAt,
}

/// Accounts per tenant, kept beside the rows so `max_accounts` holds
/// exactly under concurrent creates (a conditional increment, row-locked).
#[derive(DeriveIden, Clone, Copy)]
enum TenantAccountUsage {
    Table,
    TenantId,
    Accounts,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use WeworkInstances as I;
        m.create_table(
            table(m, I::Table)
                .col(id_col(I::Id, 36).primary_key())
                .col(ColumnDef::new(I::Name).string_len(64).not_null())
                .col(ColumnDef::new(I::ApiUrl).string_len(512).not_null())
                .col(ColumnDef::new(I::TokenSealed).text().not_null())
                .col(ColumnDef::new(I::Status).string_len(16).not_null())
                .col(ColumnDef::new(I::MaxAccounts).integer().not_null())
                .col(ColumnDef::new(I::AccountCount).integer().not_null())
                .col(ColumnDef::new(I::ProxyConfig).text().null())
                .col(ColumnDef::new(I::ProxyPasswordSealed).text().null())
                .col(ColumnDef::new(I::Region).string_len(64).not_null())
                .col(ColumnDef::new(I::BootId).string_len(64).not_null())
                .col(ColumnDef::new(I::Version).string_len(64).not_null())
                .col(ColumnDef::new(I::RestartCount).integer().not_null())
                .col(ts(m, I::LastHeartbeatAt, true))
                .col(ts(m, I::CreatedAt, false))
                .col(ts(m, I::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_wework_instances_name", I::Table, &[I::Name], true)).await?;
        m.create_index(index("ix_wework_instances_created", I::Table, &[I::CreatedAt, I::Id], false)).await?;

        use WeworkAccounts as A;
        m.create_table(
            table(m, A::Table)
                .col(id_col(A::Id, 36).primary_key())
                .col(id_col(A::TenantId, 36))
                .col(ColumnDef::new(A::UserId).string_len(36).null())
                .col(ColumnDef::new(A::AccountName).string_len(100).not_null())
                .col(ColumnDef::new(A::Phone).string_len(20).not_null())
                .col(ColumnDef::new(A::Email).string_len(100).not_null())
                .col(ColumnDef::new(A::Remark).string_len(500).not_null())
                .col(ColumnDef::new(A::Tags).text().not_null())
                .col(ColumnDef::new(A::Config).text().not_null())
                .col(ColumnDef::new(A::Guid).string_len(100).null())
                .col(ColumnDef::new(A::InstanceId).string_len(36).null())
                .col(ColumnDef::new(A::Status).string_len(20).not_null())
                .col(ColumnDef::new(A::QrCodeUrl).string_len(500).null())
                .col(ts(m, A::QrExpiresAt, true))
                .col(ColumnDef::new(A::UserInfo).text().null())
                .col(ts(m, A::LastLoginTime, true))
                .col(ts(m, A::LastHeartbeatTime, true))
                .col(ColumnDef::new(A::LoginRetryCount).integer().not_null())
                .col(ColumnDef::new(A::RecoverAttempts).integer().not_null())
                .col(ts(m, A::NextRecoverAt, true))
                .col(ColumnDef::new(A::ErrorMessage).text().null())
                .col(ColumnDef::new(A::LastEventId).string_len(64).null())
                .col(ColumnDef::new(A::SyncStatus).string_len(16).not_null())
                .col(ts(m, A::LastSyncTime, true))
                .col(ColumnDef::new(A::Version).big_integer().not_null())
                .col(ts(m, A::CreatedAt, false))
                .col(ts(m, A::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let a = A::Table;
        m.create_index(index("uq_wework_accounts_tenant_name", a, &[A::TenantId, A::AccountName], true)).await?;
        m.create_index(index("uq_wework_accounts_guid", a, &[A::Guid], true)).await?;
        m.create_index(index("ix_wework_accounts_tenant_created", a, &[A::TenantId, A::CreatedAt, A::Id], false))
            .await?;
        m.create_index(index("ix_wework_accounts_tenant_status", a, &[A::TenantId, A::Status], false)).await?;
        m.create_index(index("ix_wework_accounts_instance", a, &[A::InstanceId], false)).await?;
        m.create_index(index("ix_wework_accounts_heartbeat", a, &[A::Status, A::LastHeartbeatTime], false)).await?;
        m.create_index(index("ix_wework_accounts_recover", a, &[A::Status, A::NextRecoverAt], false)).await?;

        use AccountStatusHistory as H;
        m.create_table(
            table(m, H::Table)
                .col(id_col(H::Id, 36).primary_key())
                .col(id_col(H::TenantId, 36))
                .col(id_col(H::AccountId, 36))
                .col(ColumnDef::new(H::OldStatus).string_len(20).null())
                .col(ColumnDef::new(H::NewStatus).string_len(20).not_null())
                .col(ColumnDef::new(H::Reason).string_len(500).not_null())
                .col(ColumnDef::new(H::ErrorMessage).text().null())
                .col(ColumnDef::new(H::ExtraData).text().null())
                .col(ColumnDef::new(H::OperatorId).string_len(64).null())
                .col(ColumnDef::new(H::OperatorType).string_len(8).not_null())
                .col(ts(m, H::PublishedAt, true))
                .col(ts(m, H::CreatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_account_status_history_account",
            H::Table,
            &[H::AccountId, H::CreatedAt, H::Id],
            false,
        ))
        .await?;
        m.create_index(index("ix_account_status_history_new", H::Table, &[H::NewStatus, H::CreatedAt], false)).await?;
        m.create_index(index("ix_account_status_history_outbox", H::Table, &[H::PublishedAt, H::CreatedAt], false))
            .await?;

        use TenantAccountUsage as U;
        m.create_table(
            table(m, U::Table)
                .col(id_col(U::TenantId, 36).primary_key())
                .col(ColumnDef::new(U::Accounts).integer().not_null())
                .col(ts(m, U::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TenantAccountUsage::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(AccountStatusHistory::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(WeworkAccounts::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(WeworkInstances::Table).to_owned()).await
    }
}
