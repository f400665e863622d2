//! Business systems (the task center's callers) and webhook endpoints.
//! Secrets: the api secret only as a SHA-256, signing secrets encrypted with
//! the master key (`SecretBox`), each with the previous one kept for the
//! rotation overlap.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum BusinessSystems {
    Table,
    Id,
    BusinessCode,
    BusinessName,
    ApiKey,
    ApiSecretHash,
    SigningSecret,
    PreviousSigningSecret,
    PreviousSecretUntil,
    RateLimit,
    Status,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Endpoints {
    Table,
    Id,
    Owner,
    Name,
    TenantId,
    Url,
    SigningSecret,
    PreviousSigningSecret,
    PreviousSecretUntil,
    Status,
    Description,
    FailingSince,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use BusinessSystems as B;
        m.create_table(
            table(m, B::Table)
                .col(id_col(B::Id, 36).primary_key())
                .col(ColumnDef::new(B::BusinessCode).string_len(64).not_null())
                .col(ColumnDef::new(B::BusinessName).string_len(128).not_null())
                .col(ColumnDef::new(B::ApiKey).string_len(64).not_null())
                .col(ColumnDef::new(B::ApiSecretHash).string_len(64).not_null())
                .col(ColumnDef::new(B::SigningSecret).text().not_null())
                .col(ColumnDef::new(B::PreviousSigningSecret).text().null())
                .col(ts(m, B::PreviousSecretUntil, true))
                .col(ColumnDef::new(B::RateLimit).integer().not_null().default(0))
                .col(ColumnDef::new(B::Status).string_len(16).not_null())
                .col(ColumnDef::new(B::Description).text().null())
                .col(ts(m, B::CreatedAt, false))
                .col(ts(m, B::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_business_systems_code", B::Table, &[B::BusinessCode], true)).await?;
        m.create_index(index("uq_business_systems_api_key", B::Table, &[B::ApiKey], true)).await?;
        m.create_index(index("ix_business_systems_created", B::Table, &[B::CreatedAt, B::Id], false)).await?;

        use Endpoints as E;
        m.create_table(
            table(m, E::Table)
                .col(id_col(E::Id, 36).primary_key())
                .col(ColumnDef::new(E::Owner).string_len(128).not_null())
                .col(ColumnDef::new(E::Name).string_len(64).not_null())
                .col(ColumnDef::new(E::TenantId).string_len(36).null())
                .col(ColumnDef::new(E::Url).text().not_null())
                .col(ColumnDef::new(E::SigningSecret).text().not_null())
                .col(ColumnDef::new(E::PreviousSigningSecret).text().null())
                .col(ts(m, E::PreviousSecretUntil, true))
                .col(ColumnDef::new(E::Status).string_len(16).not_null())
                .col(ColumnDef::new(E::Description).text().null())
                .col(ts(m, E::FailingSince, true))
                .col(ColumnDef::new(E::DisabledReason).string_len(255).null())
                .col(ts(m, E::CreatedAt, false))
                .col(ts(m, E::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_endpoints_owner_name", E::Table, &[E::Owner, E::Name], true)).await?;
        m.create_index(index("ix_endpoints_owner_created", E::Table, &[E::Owner, E::CreatedAt, E::Id], false)).await?;
        m.create_index(index("ix_endpoints_created", E::Table, &[E::CreatedAt, E::Id], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Endpoints::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(BusinessSystems::Table).to_owned()).await
    }
}
