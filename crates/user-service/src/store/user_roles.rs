//! Role grants: who holds which role, until when, and what that adds up to.
//! A grant whose `expires_at` is at or before `now` counts as absent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::entity::{role, role_permission, user_role};

/// `user_roles.expires_at` is unset or after `now`.
pub(crate) fn grant_in_force(now: DateTime<Utc>) -> Condition {
    let col = (user_role::Entity, user_role::Column::ExpiresAt);
    Condition::any().add(Expr::col(col).is_null()).add(Expr::col(col).gt(now))
}

/// `SELECT role_id FROM user_roles WHERE tenant, user, in force`.
fn roles_in_force(tenant_id: &str, user_id: &str, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column((user_role::Entity, user_role::Column::RoleId))
        .from(user_role::Entity)
        .and_where(Expr::col((user_role::Entity, user_role::Column::TenantId)).eq(tenant_id))
        .and_where(Expr::col((user_role::Entity, user_role::Column::UserId)).eq(user_id))
        .cond_where(grant_in_force(now))
        .to_owned()
}

/// Grants a role; granting it again replaces the grantor and the expiry.
pub async fn assign_role<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    role_id: &str,
    granted_by: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = user_role::ActiveModel {
        id: Set(super::new_id()),
        tenant_id: Set(tenant_id.to_owned()),
        user_id: Set(user_id.to_owned()),
        role_id: Set(role_id.to_owned()),
        granted_by: Set(granted_by.map(str::to_owned)),
        expires_at: Set(expires_at),
        created_at: Set(now),
    };
    user_role::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([user_role::Column::UserId, user_role::Column::RoleId])
                .update_columns([user_role::Column::GrantedBy, user_role::Column::ExpiresAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Removes a grant; false if the user did not hold the role.
pub async fn revoke_role<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    role_id: &str,
) -> Result<bool, DbErr> {
    let res = user_role::Entity::delete_many()
        .filter(user_role::Column::TenantId.eq(tenant_id))
        .filter(user_role::Column::UserId.eq(user_id))
        .filter(user_role::Column::RoleId.eq(role_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// `(role id, role name)` of the grants in force, by name.
pub async fn active_roles_of_user<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, DbErr> {
    role::Entity::find()
        .select_only()
        .column(role::Column::Id)
        .column(role::Column::Name)
        .filter(role::Column::TenantId.eq(tenant_id))
        .filter(role::Column::Id.in_subquery(roles_in_force(tenant_id, user_id, now)))
        .order_by_asc(role::Column::Name)
        .into_tuple()
        .all(db)
        .await
}

/// Every permission string of the roles in force, sorted and deduplicated.
pub async fn effective_permissions<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let role_ids = Query::select()
        .column((role::Entity, role::Column::Id))
        .from(role::Entity)
        .and_where(Expr::col((role::Entity, role::Column::TenantId)).eq(tenant_id))
        .and_where(Expr::col((role::Entity, role::Column::Id)).in_subquery(roles_in_force(tenant_id, user_id, now)))
        .to_owned();
    let mut perms: Vec<String> = role_permission::Entity::find()
        .select_only()
        .column(role_permission::Column::Permission)
        .filter(role_permission::Column::RoleId.in_subquery(role_ids))
        .into_tuple()
        .all(db)
        .await?;
    perms.sort();
    perms.dedup();
    Ok(perms)
}

/// Role names in force per user, for list pages (one query for the page).
pub async fn role_names_for_users<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_ids: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<String>>, DbErr> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String)> = user_role::Entity::find()
        .select_only()
        .column(user_role::Column::UserId)
        .column(role::Column::Name)
        .inner_join(role::Entity)
        .filter(user_role::Column::TenantId.eq(tenant_id))
        .filter(role::Column::TenantId.eq(tenant_id))
        .filter(user_role::Column::UserId.is_in(user_ids.iter().map(String::as_str)))
        .filter(grant_in_force(now))
        .order_by_asc(role::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    for (user_id, name) in rows {
        out.entry(user_id).or_default().push(name);
    }
    Ok(out)
}
