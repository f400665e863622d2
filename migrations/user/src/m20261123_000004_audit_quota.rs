//! The audit trail and the per-tenant, per-day message counter used for the
//! daily quota when no Redis is configured.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AuditLogs {
    Table,
    Id,
    TenantId,
    UserId,
    PrincipalKind,
    Operation,
    ResourceType,
    ResourceId,
    OldValue,
    NewValue,
    Result,
    ErrorMessage,
    Ip,
    UserAgent,
    RequestId,
    Service,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DailyMessageUsage {
    Table,
    TenantId,
    Day,
    Used,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table(m, AuditLogs::Table)
                .col(id_col(AuditLogs::Id, 36).primary_key())
                .col(id_col(AuditLogs::TenantId, 36))
                .col(ColumnDef::new(AuditLogs::UserId).string_len(36).null())
                .col(ColumnDef::new(AuditLogs::PrincipalKind).string_len(16).not_null())
                .col(ColumnDef::new(AuditLogs::Operation).string_len(64).not_null())
                .col(ColumnDef::new(AuditLogs::ResourceType).string_len(64).not_null())
                .col(ColumnDef::new(AuditLogs::ResourceId).string_len(128).null())
                .col(ColumnDef::new(AuditLogs::OldValue).text().null())
                .col(ColumnDef::new(AuditLogs::NewValue).text().null())
                .col(ColumnDef::new(AuditLogs::Result).string_len(16).not_null())
                .col(ColumnDef::new(AuditLogs::ErrorMessage).text().null())
                .col(ColumnDef::new(AuditLogs::Ip).string_len(64).null())
                .col(ColumnDef::new(AuditLogs::UserAgent).string_len(512).null())
                .col(ColumnDef::new(AuditLogs::RequestId).string_len(64).null())
                .col(ColumnDef::new(AuditLogs::Service).string_len(64).not_null())
                .col(ts(m, AuditLogs::CreatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = AuditLogs::Table;
        use AuditLogs::*;
        m.create_index(index("ix_audit_tenant_created", t, &[TenantId, CreatedAt, Id], false)).await?;
        m.create_index(index("ix_audit_tenant_user_created", t, &[TenantId, UserId, CreatedAt], false)).await?;
        m.create_index(index("ix_audit_tenant_resource", t, &[TenantId, ResourceType, ResourceId], false)).await?;
        m.create_index(index("ix_audit_tenant_operation_created", t, &[TenantId, Operation, CreatedAt], false)).await?;

        m.create_table(
            table(m, DailyMessageUsage::Table)
                .col(id_col(DailyMessageUsage::TenantId, 36))
                .col(ColumnDef::new(DailyMessageUsage::Day).string_len(10).not_null())
                .col(ColumnDef::new(DailyMessageUsage::Used).big_integer().not_null().default(0))
                .col(ts(m, DailyMessageUsage::UpdatedAt, false))
                .primary_key(
                    Index::create()
                        .name("pk_daily_message_usage")
                        .col(DailyMessageUsage::TenantId)
                        .col(DailyMessageUsage::Day),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DailyMessageUsage::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(AuditLogs::Table).to_owned()).await
    }
}
