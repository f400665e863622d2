//! An account's directory: conversations (one per WeWork chat, upserted by
//! every inbound message and outbound send), and the contacts, groups and
//! group members a directory sync copies from the instance. Each row is
//! keyed by its WeWork id within the account (the unique key every upsert
//! conflicts on). A sync stamps what it saw with its start time, so rows
//! left behind are swept (`removed` / `left`) instead of deleted.
//!
//! Beyond the seed: `conversations.last_msg_id` (the last message recorded,
//! so a re-sent 11010 callback does not count as unread twice).

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Conversations {
    Table,
    Id,
    TenantId,
    AccountId,
    /// WeWork's chat id: a user id for private chats, a room id for groups.
    ConversationId,
    ConversationName,
    /// `private` or `group`.
    ConversationType,
    AvatarUrl,
    MemberCount,
    LastMsgTime,
    LastMsgContent,
    LastMsgId,
    UnreadCount,
    IsActive,
    IsPinned,
    /// JSON list of strings.
    Tags,
    /// JSON object.
    ExtraInfo,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Contacts {
    Table,
    Id,
    TenantId,
    AccountId,
    UserId,
    Name,
    Alias,
    AvatarUrl,
    /// `internal` or `external`.
    ContactType,
    CorpName,
    Gender,
    Tags,
    Remark,
    /// `active` or `removed`.
    Status,
    LastSyncTime,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
    TenantId,
    AccountId,
    GroupId,
    Name,
    OwnerId,
    MemberCount,
    Notice,
    /// `active` or `left`.
    Status,
    LastSyncTime,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupMembers {
    Table,
    Id,
    TenantId,
    AccountId,
    GroupId,
    UserId,
    Name,
    GroupNickname,
    /// `owner`, `admin` or `member`.
    Role,
    JoinedAt,
    /// `active` or `left`.
    Status,
    LeftAt,
    LastSyncTime,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Conversations as C;
        m.create_table(
            table(m, C::Table)
                .col(id_col(C::Id, 36).primary_key())
                .col(id_col(C::TenantId, 36))
                .col(id_col(C::AccountId, 36))
                .col(id_col(C::ConversationId, 100))
                .col(ColumnDef::new(C::ConversationName).string_len(200).not_null())
                .col(ColumnDef::new(C::ConversationType).string_len(16).not_null())
                .col(ColumnDef::new(C::AvatarUrl).string_len(500).not_null())
                .col(ColumnDef::new(C::MemberCount).integer().not_null())
                .col(ts(m, C::LastMsgTime, false))
                .col(ColumnDef::new(C::LastMsgContent).string_len(200).not_null())
                .col(ColumnDef::new(C::LastMsgId).string_len(64).null())
                .col(ColumnDef::new(C::UnreadCount).integer().not_null())
                .col(ColumnDef::new(C::IsActive).boolean().not_null())
                .col(ColumnDef::new(C::IsPinned).boolean().not_null())
                .col(ColumnDef::new(C::Tags).text().not_null())
                .col(ColumnDef::new(C::ExtraInfo).text().not_null())
                .col(ts(m, C::CreatedAt, false))
                .col(ts(m, C::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let c = C::Table;
        m.create_index(index("uq_conversations_account_chat", c, &[C::AccountId, C::ConversationId], true)).await?;
        // Newest first within an account: the list order and its keyset.
        m.create_index(index(
            "ix_conversations_tenant_account_last",
            c,
            &[C::TenantId, C::AccountId, C::LastMsgTime, C::Id],
            false,
        ))
        .await?;

        use Contacts as K;
        m.create_table(
            table(m, K::Table)
                .col(id_col(K::Id, 36).primary_key())
                .col(id_col(K::TenantId, 36))
                .col(id_col(K::AccountId, 36))
                .col(id_col(K::UserId, 100))
                .col(ColumnDef::new(K::Name).string_len(200).not_null())
                .col(ColumnDef::new(K::Alias).string_len(200).not_null())
                .col(ColumnDef::new(K::AvatarUrl).string_len(500).not_null())
                .col(ColumnDef::new(K::ContactType).string_len(16).not_null())
                .col(ColumnDef::new(K::CorpName).string_len(200).not_null())
                .col(ColumnDef::new(K::Gender).integer().not_null())
                .col(ColumnDef::new(K::Tags).text().not_null())
                .col(ColumnDef::new(K::Remark).string_len(500).not_null())
                .col(ColumnDef::new(K::Status).string_len(16).not_null())
                .col(ts(m, K::LastSyncTime, false))
                .col(ts(m, K::CreatedAt, false))
                .col(ts(m, K::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let k = K::Table;
        m.create_index(index("uq_contacts_account_user", k, &[K::AccountId, K::UserId], true)).await?;
        m.create_index(index(
            "ix_contacts_tenant_account_created",
            k,
            &[K::TenantId, K::AccountId, K::CreatedAt, K::Id],
            false,
        ))
        .await?;
        // The sweep after a sync: active rows of the account it did not see.
        m.create_index(index("ix_contacts_account_status_sync", k, &[K::AccountId, K::Status, K::LastSyncTime], false))
            .await?;

        use Groups as G;
        m.create_table(
            table(m, G::Table)
                .col(id_col(G::Id, 36).primary_key())
                .col(id_col(G::TenantId, 36))
                .col(id_col(G::AccountId, 36))
                .col(id_col(G::GroupId, 100))
                .col(ColumnDef::new(G::Name).string_len(200).not_null())
                .col(ColumnDef::new(G::OwnerId).string_len(100).not_null())
                .col(ColumnDef::new(G::MemberCount).integer().not_null())
                .col(ColumnDef::new(G::Notice).text().not_null())
                .col(ColumnDef::new(G::Status).string_len(16).not_null())
                .col(ts(m, G::LastSyncTime, false))
                .col(ts(m, G::CreatedAt, false))
                .col(ts(m, G::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let g = G::Table;
        m.create_index(index("uq_groups_account_group", g, &[G::AccountId, G::GroupId], true)).await?;
        m.create_index(index(
            "ix_groups_tenant_account_created",
            g,
            &[G::TenantId, G::AccountId, G::CreatedAt, G::Id],
            false,
        ))
        .await?;
        m.create_index(index("ix_groups_account_status_sync", g, &[G::AccountId, G::Status, G::LastSyncTime], false))
            .await?;

        use GroupMembers as M;
        m.create_table(
            table(m, M::Table)
                .col(id_col(M::Id, 36).primary_key())
                .col(id_col(M::TenantId, 36))
                .col(id_col(M::AccountId, 36))
                .col(id_col(M::GroupId, 100))
                .col(id_col(M::UserId, 100))
                .col(ColumnDef::new(M::Name).string_len(200).not_null())
                .col(ColumnDef::new(M::GroupNickname).string_len(200).not_null())
                .col(ColumnDef::new(M::Role).string_len(16).not_null())
                .col(ts(m, M::JoinedAt, true))
                .col(ColumnDef::new(M::Status).string_len(16).not_null())
                .col(ts(m, M::LeftAt, true))
                .col(ts(m, M::LastSyncTime, false))
                .col(ts(m, M::CreatedAt, false))
                .col(ts(m, M::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        let gm = M::Table;
        m.create_index(index("uq_group_members_account_group_user", gm, &[M::AccountId, M::GroupId, M::UserId], true))
            .await?;
        m.create_index(index(
            "ix_group_members_tenant_group_created",
            gm,
            &[M::TenantId, M::AccountId, M::GroupId, M::CreatedAt, M::Id],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_group_members_account_status_sync",
            gm,
            &[M::AccountId, M::Status, M::LastSyncTime],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(GroupMembers::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Groups::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Contacts::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Conversations::Table).to_owned()).await
    }
}
