//! Tenants and their users (login state, lockout, two-factor, soft delete).

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
    TenantCode,
    Name,
    Status,
    MaxAccounts,
    MaxDailyMessages,
    WebhookUrl,
    Config,
    StatusReason,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    TenantId,
    Username,
    Email,
    Phone,
    DisplayName,
    PasswordHash,
    Status,
    EmailVerified,
    PhoneVerified,
    FailedLoginCount,
    LockedUntil,
    LastLoginAt,
    LastLoginIp,
    TwoFactorEnabled,
    TwoFactorSecret,
    TwoFactorLastStep,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table(m, Tenants::Table)
                .col(id_col(Tenants::Id, 36).primary_key())
                .col(ColumnDef::new(Tenants::TenantCode).string_len(64).not_null())
                .col(ColumnDef::new(Tenants::Name).string_len(255).not_null())
                .col(ColumnDef::new(Tenants::Status).string_len(16).not_null())
                .col(ColumnDef::new(Tenants::MaxAccounts).integer().not_null())
                .col(ColumnDef::new(Tenants::MaxDailyMessages).integer().not_null())
                .col(ColumnDef::new(Tenants::WebhookUrl).string_len(1024).null())
                .col(ColumnDef::new(Tenants::Config).text().null())
                .col(ColumnDef::new(Tenants::StatusReason).string_len(512).null())
                .col(ts(m, Tenants::CreatedAt, false))
                .col(ts(m, Tenants::UpdatedAt, false))
                .col(ts(m, Tenants::DeletedAt, true))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_tenants_code", Tenants::Table, &[Tenants::TenantCode], true)).await?;
        m.create_index(index(
            "ix_tenants_status_created",
            Tenants::Table,
            &[Tenants::Status, Tenants::CreatedAt, Tenants::Id],
            false,
        ))
        .await?;

        m.create_table(
            table(m, Users::Table)
                .col(id_col(Users::Id, 36).primary_key())
                .col(id_col(Users::TenantId, 36))
                // Room for the `#deleted#<uuid>` suffix a soft delete appends.
                .col(ColumnDef::new(Users::Username).string_len(191).not_null())
                .col(ColumnDef::new(Users::Email).string_len(320).null())
                .col(ColumnDef::new(Users::Phone).string_len(32).null())
                .col(ColumnDef::new(Users::DisplayName).string_len(255).not_null())
                .col(ColumnDef::new(Users::PasswordHash).string_len(255).not_null())
                .col(ColumnDef::new(Users::Status).string_len(16).not_null())
                .col(ColumnDef::new(Users::EmailVerified).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::PhoneVerified).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::FailedLoginCount).integer().not_null().default(0))
                .col(ts(m, Users::LockedUntil, true))
                .col(ts(m, Users::LastLoginAt, true))
                .col(ColumnDef::new(Users::LastLoginIp).string_len(64).null())
                .col(ColumnDef::new(Users::TwoFactorEnabled).boolean().not_null().default(false))
                .col(ColumnDef::new(Users::TwoFactorSecret).text().null())
                .col(ColumnDef::new(Users::TwoFactorLastStep).big_integer().null())
                .col(ts(m, Users::PasswordChangedAt, true))
                .col(ts(m, Users::CreatedAt, false))
                .col(ts(m, Users::UpdatedAt, false))
                .col(ts(m, Users::DeletedAt, true))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_users_tenant_username", Users::Table, &[Users::TenantId, Users::Username], true))
            .await?;
        m.create_index(index("uq_users_tenant_email", Users::Table, &[Users::TenantId, Users::Email], true)).await?;
        m.create_index(index(
            "ix_users_tenant_created",
            Users::Table,
            &[Users::TenantId, Users::CreatedAt, Users::Id],
            false,
        ))
        .await?;
        m.create_index(index("ix_users_tenant_status", Users::Table, &[Users::TenantId, Users::Status], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Tenants::Table).to_owned()).await
    }
}
