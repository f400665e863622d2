//! RBAC: per-tenant roles, the permission catalogue, role → permission
//! strings (wildcards allowed, so not a foreign key into the catalogue) and
//! user → role grants with optional expiry.

use sea_orm_migration::prelude::*;

use crate::{id_col, index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Roles {
    Table,
    Id,
    TenantId,
    Name,
    Description,
    IsSystem,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Permissions {
    Table,
    Id,
    Name,
    Resource,
    Action,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum RolePermissions {
    Table,
    RoleId,
    Permission,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserRoles {
    Table,
    Id,
    TenantId,
    UserId,
    RoleId,
    GrantedBy,
    ExpiresAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table(m, Roles::Table)
                .col(id_col(Roles::Id, 36).primary_key())
                .col(id_col(Roles::TenantId, 36))
                .col(ColumnDef::new(Roles::Name).string_len(64).not_null())
                .col(ColumnDef::new(Roles::Description).string_len(512).not_null().default(""))
                .col(ColumnDef::new(Roles::IsSystem).boolean().not_null().default(false))
                .col(ts(m, Roles::CreatedAt, false))
                .col(ts(m, Roles::UpdatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_roles_tenant_name", Roles::Table, &[Roles::TenantId, Roles::Name], true)).await?;
        m.create_index(index(
            "ix_roles_tenant_created",
            Roles::Table,
            &[Roles::TenantId, Roles::CreatedAt, Roles::Id],
            false,
        ))
        .await?;

        m.create_table(
            table(m, Permissions::Table)
                .col(id_col(Permissions::Id, 36).primary_key())
                .col(ColumnDef::new(Permissions::Name).string_len(128).not_null())
                .col(ColumnDef::new(Permissions::Resource).string_len(64).not_null())
                .col(ColumnDef::new(Permissions::Action).string_len(64).not_null())
                .col(ColumnDef::new(Permissions::Description).string_len(512).not_null().default(""))
                .to_owned(),
        )
        .await?;
        m.create_index(index("uq_permissions_name", Permissions::Table, &[Permissions::Name], true)).await?;

        m.create_table(
            table(m, RolePermissions::Table)
                .col(id_col(RolePermissions::RoleId, 36))
                .col(ColumnDef::new(RolePermissions::Permission).string_len(128).not_null())
                .primary_key(
                    Index::create()
                        .name("pk_role_permissions")
                        .col(RolePermissions::RoleId)
                        .col(RolePermissions::Permission),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(m, UserRoles::Table)
                .col(id_col(UserRoles::Id, 36).primary_key())
                .col(id_col(UserRoles::TenantId, 36))
                .col(id_col(UserRoles::UserId, 36))
                .col(id_col(UserRoles::RoleId, 36))
                .col(ColumnDef::new(UserRoles::GrantedBy).string_len(36).null())
                .col(ts(m, UserRoles::ExpiresAt, true))
                .col(ts(m, UserRoles::CreatedAt, false))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "uq_user_roles_user_role",
            UserRoles::Table,
            &[UserRoles::UserId, UserRoles::RoleId],
            true,
        ))
        .await?;
        m.create_index(index("ix_user_roles_role", UserRoles::Table, &[UserRoles::RoleId], false)).await?;
        m.create_index(index(
            "ix_user_roles_tenant_user",
            UserRoles::Table,
            &[UserRoles::TenantId, UserRoles::UserId],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [UserRoles::Table.into_iden(), RolePermissions::Table.into_iden()] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.drop_table(Table::drop().table(Permissions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Roles::Table).to_owned()).await
    }
}
