//! Login sessions (rotating refresh tokens, stored hashed), tenant API keys
//! (prefix + SHA-256 of the secret) and the service's JWT signing keys.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum UserSessions {
    Table,
    Id,
    TenantId,
    UserId,
    RefreshTokenHash,
    PreviousRefreshHash,
    RotatedAt,
    AccessTokenHash,
    Device,
    Ip,
    UserAgent,
    CreatedAt,
    ExpiresAt,
    LastActivityAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    CreatedBy,
    Name,
    Prefix,
    KeyHash,
    Permissions,
    Status,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SigningKeys {
    Table,
    Id,
    Algorithm,
    PrivateKey,
    PublicKey,
    Status,
    CreatedAt,
    RetiredAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table(m, UserSessions::Table)
                .col(id_col(UserSessions::Id, 36).primary_key())
                .col(id_col(UserSessions::TenantId, 36))
                .col(id_col(UserSessions::UserId, 36))
                .col(ColumnDef::new(UserSessions::RefreshTokenHash).char_len(64).not_null())
                .col(ColumnDef::new(UserSessions::PreviousRefreshHash).char_len(64).null())
                .col(ts(m, UserSessions::RotatedAt, true))
                .col(ColumnDef::new(UserSessions::AccessTokenHash).char_len(64).null())
                .col(ColumnDef::new(UserSessions::Device).string_len(255).null())
                .col(ColumnDef::new(UserSessions::Ip).string_len(64).null())
                .col(ColumnDef::new(UserSessions::UserAgent).string_len(512).null())
                .col(ts(m, UserSessions::CreatedAt, false))
                .col(ts(m, UserSessions::ExpiresAt, false))
                .col(ts(m, UserSessions::LastActivityAt, false))
                .col(ts(m, UserSessions::RevokedAt, true))
                .col(ColumnDef::new(UserSessions::RevokedReason).string_len(64).null())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_user_sessions_user_created",
            UserSessions::Table,
            &[UserSessions::UserId, UserSessions::CreatedAt],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_user_sessions_tenant_user",
            UserSessions::Table,
            &[UserSessions::TenantId, UserSessions::UserId],
            false,
        ))
        .await?;

        m.create_table(
            table(m, ApiKeys::Table)
                .col(id_col(ApiKeys::Id, 36).primary_key())
                .col(id_col(ApiKeys::TenantId, 36))
                .col(id_col(ApiKeys::CreatedBy, 36))
                .col(ColumnDef::new(ApiKeys::Name).string_len(128).not_null())
                .col(ColumnDef::new(ApiKeys::Prefix).string_len(32).not_null())
                .col(ColumnDef::new(ApiKeys::KeyHash).char_len(64).not_null())
                .col(ColumnDef::new(ApiKeys::Permissions).text().not_null())
                .col(ColumnDef::new(ApiKeys::Status).string_len(16).not_null())
                .col(ts(m, ApiKeys::ExpiresAt, true))
                .col(ts(m, ApiKeys::LastUsedAt, true))
                .col(ts(m, ApiKeys::RevokedAt, true))
                .col(ts(m, ApiKeys::CreatedAt, false))
                .col(ts(m, ApiKeys::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_api_keys_prefix", ApiKeys::Table, &[ApiKeys::Prefix], true)).await?;
        m.create_index(index(
            "ix_api_keys_tenant_created",
            ApiKeys::Table,
            &[ApiKeys::TenantId, ApiKeys::CreatedAt, ApiKeys::Id],
            false,
        ))
        .await?;

        m.create_table(
            table(m, SigningKeys::Table)
                .col(id_col(SigningKeys::Id, 64).primary_key())
                .col(ColumnDef::new(SigningKeys::Algorithm).string_len(16).not_null())
                .col(ColumnDef::new(SigningKeys::PrivateKey).text().not_null())
                .col(ColumnDef::new(SigningKeys::PublicKey).text().not_null())
                .col(ColumnDef::new(SigningKeys::Status).string_len(16).not_null())
                .col(ts(m, SigningKeys::CreatedAt, false))
                .col(ts(m, SigningKeys::RetiredAt, true))
                .col(ts(m, SigningKeys::ExpiresAt, true))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_signing_keys_status", SigningKeys::Table, &[SigningKeys::Status], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SigningKeys::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(UserSessions::Table).to_owned()).await
    }
}
