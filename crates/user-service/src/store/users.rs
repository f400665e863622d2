//! Users of a tenant. Every query is scoped by `tenant_id`, and every read
//! except `list_users` with a `deleted` status filter skips soft-deleted rows.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};

use super::entity::user::{self, ActiveModel, Column, Entity};
use super::entity::{role, user_role};
use super::page::{Cursor, fetch_page, ilike, like_pattern};
use super::status::{STATUS_ACTIVE, STATUS_DELETED};

pub type UserModel = user::Model;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Fields to change; `None` leaves a field, `Some(None)` clears a nullable one.
/// Changing the email or phone resets its `*_verified` flag.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub display_name: Option<String>,
    /// `STATUS_ACTIVE` or `STATUS_DISABLED` (deleting is `soft_delete_user`).
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// A `STATUS_*` value; without it deleted users are left out.
    pub status: Option<String>,
    /// Only users holding this role (by name) now.
    pub role: Option<String>,
    /// Case-insensitive substring of username, email or display name.
    pub query: Option<String>,
}

pub fn user_is_active(u: &UserModel) -> bool {
    u.status == STATUS_ACTIVE
}

fn live(tenant_id: &str, id: &str) -> Condition {
    Condition::all().add(Column::TenantId.eq(tenant_id)).add(Column::Id.eq(id)).add(Column::Status.ne(STATUS_DELETED))
}

pub async fn insert_user<C: ConnectionTrait>(db: &C, new: NewUser) -> Result<UserModel, DbErr> {
    ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        username: Set(new.username),
        email: Set(new.email),
        phone: Set(new.phone),
        display_name: Set(new.display_name),
        password_hash: Set(new.password_hash),
        status: Set(STATUS_ACTIVE.to_owned()),
        email_verified: Set(false),
        phone_verified: Set(false),
        failed_login_count: Set(0),
        locked_until: Set(None),
        last_login_at: Set(None),
        last_login_ip: Set(None),
        two_factor_enabled: Set(false),
        two_factor_secret: Set(None),
        two_factor_last_step: Set(None),
        password_changed_at: Set(Some(new.created_at)),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
        deleted_at: Set(None),
    }
    .insert(db)
    .await
}

/// A user of this tenant that is not deleted.
pub async fn find_user<C: ConnectionTrait>(db: &C, tenant_id: &str, id: &str) -> Result<Option<UserModel>, DbErr> {
    Entity::find().filter(live(tenant_id, id)).one(db).await
}

/// A user of any tenant that is not deleted. Only for the platform
/// super-admin, who crosses tenants; everyone else uses `find_user`.
pub async fn find_user_any_tenant<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<UserModel>, DbErr> {
    Entity::find().filter(Column::Id.eq(id)).filter(Column::Status.ne(STATUS_DELETED)).one(db).await
}

/// The user a login names: exact username, or email ignoring case. A
/// username wins over another user's email if both match.
pub async fn find_user_for_login<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    login: &str,
) -> Result<Option<UserModel>, DbErr> {
    let rows = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Status.ne(STATUS_DELETED))
        .filter(
            Condition::any()
                .add(Column::Username.eq(login))
                .add(Expr::expr(Func::lower(Expr::col(Column::Email))).eq(login.to_lowercase())),
        )
        .limit(2)
        .all(db)
        .await?;
    let by_name = rows.iter().position(|u| u.username == login);
    Ok(match by_name {
        Some(i) => rows.into_iter().nth(i),
        None => rows.into_iter().next(),
    })
}

pub async fn update_user<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    changes: UserChanges,
    now: DateTime<Utc>,
) -> Result<Option<UserModel>, DbErr> {
    let mut update = Entity::update_many().col_expr(Column::UpdatedAt, Expr::value(now)).filter(live(tenant_id, id));
    if let Some(v) = changes.email {
        update = update.col_expr(Column::Email, Expr::value(v)).col_expr(Column::EmailVerified, Expr::value(false));
    }
    if let Some(v) = changes.phone {
        update = update.col_expr(Column::Phone, Expr::value(v)).col_expr(Column::PhoneVerified, Expr::value(false));
    }
    if let Some(v) = changes.display_name {
        update = update.col_expr(Column::DisplayName, Expr::value(v));
    }
    if let Some(v) = changes.status {
        update = update.col_expr(Column::Status, Expr::value(v));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Ok(None);
    }
    find_user(db, tenant_id, id).await
}

/// Soft-deletes a user and frees its username and email for reuse by
/// renaming them to `<value>#deleted#<id>`. False if there was no live user.
pub async fn soft_delete_user<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(u) = find_user(db, tenant_id, id).await? else {
        return Ok(false);
    };
    let suffix = format!("#deleted#{}", u.id);
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_DELETED))
        .col_expr(Column::Username, Expr::value(format!("{}{suffix}", u.username)))
        .col_expr(Column::Email, Expr::value(u.email.map(|e| format!("{e}{suffix}"))))
        .col_expr(Column::DeletedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(live(tenant_id, id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Newest first, keyset-paginated. `now` decides which role grants count
/// for the role filter (expired grants do not).
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    filter: &UserFilter,
    now: DateTime<Utc>,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<UserModel>, Option<Cursor>), DbErr> {
    let mut select = Entity::find().filter(Column::TenantId.eq(tenant_id));
    select = match &filter.status {
        Some(s) => select.filter(Column::Status.eq(s.as_str())),
        None => select.filter(Column::Status.ne(STATUS_DELETED)),
    };
    if let Some(q) = filter.query.as_deref().filter(|q| !q.is_empty()) {
        let p = like_pattern(q);
        select = select.filter(
            Condition::any()
                .add(ilike(Column::Username, &p))
                .add(ilike(Column::Email, &p))
                .add(ilike(Column::DisplayName, &p)),
        );
    }
    if let Some(role_name) = &filter.role {
        let holders = Query::select()
            .column((user_role::Entity, user_role::Column::UserId))
            .from(user_role::Entity)
            .inner_join(
                role::Entity,
                Expr::col((role::Entity, role::Column::Id)).equals((user_role::Entity, user_role::Column::RoleId)),
            )
            .and_where(Expr::col((user_role::Entity, user_role::Column::TenantId)).eq(tenant_id))
            .and_where(Expr::col((role::Entity, role::Column::TenantId)).eq(tenant_id))
            .and_where(Expr::col((role::Entity, role::Column::Name)).eq(role_name.as_str()))
            .cond_where(super::user_roles::grant_in_force(now))
            .to_owned();
        select = select.filter(Column::Id.in_subquery(holders));
    }
    fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |u| Cursor {
        created_at: u.created_at,
        id: u.id.clone(),
    })
    .await
}

/// Users of the tenant that are not deleted (for the account quota).
pub async fn count_users<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::TenantId.eq(tenant_id)).filter(Column::Status.ne(STATUS_DELETED)).count(db).await
}
