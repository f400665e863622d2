//! Roles of a tenant with their permission strings, and the global
//! permission catalogue.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entity::role::{self, ActiveModel, Column, Entity};
use super::entity::{permission, role_permission, user_role};
use super::page::{Cursor, fetch_page};

pub type RoleModel = role::Model;
pub type PermissionModel = permission::Model;

#[derive(Debug, Clone)]
pub struct NewRole {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    /// `resource:action` strings; `*` wildcards allowed. Duplicates are dropped.
    pub permissions: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Inserts the role and its permission rows (run it in a transaction).
pub async fn insert_role<C: ConnectionTrait>(db: &C, new: NewRole) -> Result<RoleModel, DbErr> {
    let role = ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        name: Set(new.name),
        description: Set(new.description),
        is_system: Set(new.is_system),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
    }
    .insert(db)
    .await?;
    insert_permissions(db, &role.id, &new.permissions).await?;
    Ok(role)
}

async fn insert_permissions<C: ConnectionTrait>(db: &C, role_id: &str, perms: &[String]) -> Result<(), DbErr> {
    let mut perms: Vec<&String> = perms.iter().collect();
    perms.sort();
    perms.dedup();
    if perms.is_empty() {
        return Ok(());
    }
    let rows = perms
        .into_iter()
        .map(|p| role_permission::ActiveModel { role_id: Set(role_id.to_owned()), permission: Set(p.clone()) });
    role_permission::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

pub async fn find_role<C: ConnectionTrait>(db: &C, tenant_id: &str, id: &str) -> Result<Option<RoleModel>, DbErr> {
    Entity::find().filter(Column::TenantId.eq(tenant_id)).filter(Column::Id.eq(id)).one(db).await
}

/// Any tenant's role: only for platform super-admins, whose calls cross tenants.
pub async fn find_role_any_tenant<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<RoleModel>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_role_by_name<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    name: &str,
) -> Result<Option<RoleModel>, DbErr> {
    Entity::find().filter(Column::TenantId.eq(tenant_id)).filter(Column::Name.eq(name)).one(db).await
}

/// Newest first, keyset-paginated.
pub async fn list_roles<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<RoleModel>, Option<Cursor>), DbErr> {
    let select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |r| Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// False if the tenant has no such role.
pub async fn update_role_description<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::Description, Expr::value(description))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Replaces a role's permission set (run it in a transaction). The role id
/// must come from a tenant-scoped `find_role`: permission rows carry no tenant.
pub async fn replace_role_permissions<C: ConnectionTrait>(
    db: &C,
    role_id: &str,
    perms: &[String],
) -> Result<(), DbErr> {
    role_permission::Entity::delete_many().filter(role_permission::Column::RoleId.eq(role_id)).exec(db).await?;
    insert_permissions(db, role_id, perms).await
}

/// Permission strings per role id (sorted); roles without any are absent.
pub async fn role_permissions<C: ConnectionTrait>(
    db: &C,
    role_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, DbErr> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if role_ids.is_empty() {
        return Ok(out);
    }
    let rows = role_permission::Entity::find()
        .filter(role_permission::Column::RoleId.is_in(role_ids.iter().map(String::as_str)))
        .order_by_asc(role_permission::Column::Permission)
        .all(db)
        .await?;
    for r in rows {
        out.entry(r.role_id).or_default().push(r.permission);
    }
    Ok(out)
}

/// Deletes a role with its grants and permissions (run it in a
/// transaction). Returns the ids of the users who held it, so their cached
/// views can be dropped; empty if the tenant has no such role.
pub async fn delete_role<C: ConnectionTrait>(db: &C, tenant_id: &str, id: &str) -> Result<Vec<String>, DbErr> {
    let Some(role) = find_role(db, tenant_id, id).await? else {
        return Ok(Vec::new());
    };
    let holders: Vec<String> = user_role::Entity::find()
        .select_only()
        .column(user_role::Column::UserId)
        .filter(user_role::Column::TenantId.eq(tenant_id))
        .filter(user_role::Column::RoleId.eq(role.id.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    user_role::Entity::delete_many()
        .filter(user_role::Column::TenantId.eq(tenant_id))
        .filter(user_role::Column::RoleId.eq(role.id.as_str()))
        .exec(db)
        .await?;
    role_permission::Entity::delete_many()
        .filter(role_permission::Column::RoleId.eq(role.id.as_str()))
        .exec(db)
        .await?;
    Entity::delete_many()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(role.id.as_str()))
        .exec(db)
        .await?;
    Ok(holders)
}

/// Upserts catalogue entries `(name, description)`; `resource` and `action`
/// are the two halves of `resource:action`. Safe to run on every start.
pub async fn insert_permission_catalogue<C: ConnectionTrait>(
    db: &C,
    entries: &[(String, String)],
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows = entries.iter().map(|(name, description)| {
        let (resource, action) = name.split_once(':').unwrap_or((name.as_str(), "*"));
        permission::ActiveModel {
            id: Set(super::new_id()),
            name: Set(name.clone()),
            resource: Set(resource.to_owned()),
            action: Set(action.to_owned()),
            description: Set(description.clone()),
        }
    });
    permission::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(permission::Column::Name)
                .update_columns([
                    permission::Column::Resource,
                    permission::Column::Action,
                    permission::Column::Description,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The whole catalogue, by name.
pub async fn list_permission_catalogue<C: ConnectionTrait>(db: &C) -> Result<Vec<PermissionModel>, DbErr> {
    permission::Entity::find().order_by_asc(permission::Column::Name).all(db).await
}
