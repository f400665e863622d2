//! Official WeCom apps whose encrypted callbacks the service accepts at
//! `/v1/callbacks/wecom/{id}`.
//!
//! `corp_id` is the WXBizMsgCrypt receive id compared after decryption.
//! The callback token and the EncodingAESKey are both secrets (the token
//! signs, the key decrypts), so both are stored sealed with the platform's
//! master key (`wework_kit::crypto::SecretBox`, `v1.` base64 text), never in
//! clear. `agent_id` is NULL for corp-level callbacks (contacts, customer
//! contact) that belong to no app. An app is unique by name within its tenant;
//! `(corp_id, agent_id)` is not made unique because NULLs repeat freely on
//! both backends, so the store refuses a second registration of the same
//! corp and agent in one tenant itself.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum WecomApps {
    Table,
    Id,
    TenantId,
    Name,
    CorpId,
    AgentId,
    TokenSealed,
    AesKeySealed,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use WecomApps as A;
        m.create_table(
            table(m, A::Table)
                .col(id_col(A::Id, 36).primary_key())
                .col(id_col(A::TenantId, 36))
                .col(ColumnDef::new(A::Name).string_len(100).not_null())
                .col(ColumnDef::new(A::CorpId).string_len(64).not_null())
                .col(ColumnDef::new(A::AgentId).big_integer().null())
                .col(ColumnDef::new(A::TokenSealed).text().not_null())
                .col(ColumnDef::new(A::AesKeySealed).text().not_null())
                .col(ColumnDef::new(A::Status).string_len(12).not_null())
                .col(ts(m, A::CreatedAt, false))
                .col(ts(m, A::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let t = A::Table;
        m.create_index(index("uq_wecom_apps_tenant_name", t, &[A::TenantId, A::Name], true)).await?;
        m.create_index(index("ix_wecom_apps_tenant_corp", t, &[A::TenantId, A::CorpId, A::AgentId], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WecomApps::Table).to_owned()).await
    }
}
