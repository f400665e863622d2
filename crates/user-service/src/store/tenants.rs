//! Tenants. Tenants are the scope of everything else, so these queries are
//! keyed by the tenant's own id; `find_*` return deleted tenants too and the
//! caller decides (see `tenant_not_deleted`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entity::tenant::{self, ActiveModel, Column, Entity};
use super::json;
use super::page::{Cursor, fetch_page, ilike, like_pattern};
use super::status::{STATUS_ACTIVE, STATUS_DELETED};

pub type TenantModel = tenant::Model;

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub id: String,
    pub tenant_code: String,
    pub name: String,
    pub max_accounts: i32,
    pub max_daily_messages: i32,
    pub webhook_url: Option<String>,
    pub config: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// Fields to change; `None` leaves a field as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub max_accounts: Option<i32>,
    pub max_daily_messages: Option<i32>,
    pub webhook_url: Option<Option<String>>,
    pub config: Option<Option<serde_json::Value>>,
}

#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// One of the `STATUS_*` values.
    pub status: Option<String>,
    /// Case-insensitive substring of the code or the name.
    pub query: Option<String>,
}

pub fn tenant_is_active(t: &TenantModel) -> bool {
    t.status == STATUS_ACTIVE
}

pub fn tenant_not_deleted(t: &TenantModel) -> bool {
    t.status != STATUS_DELETED
}

pub async fn insert_tenant<C: ConnectionTrait>(db: &C, new: NewTenant) -> Result<TenantModel, DbErr> {
    ActiveModel {
        id: Set(new.id),
        tenant_code: Set(new.tenant_code),
        name: Set(new.name),
        status: Set(STATUS_ACTIVE.to_owned()),
        max_accounts: Set(new.max_accounts),
        max_daily_messages: Set(new.max_daily_messages),
        webhook_url: Set(new.webhook_url),
        config: Set(json::to_text_opt(new.config.as_ref())),
        status_reason: Set(None),
        created_at: Set(new.created_at),
        updated_at: Set(new.created_at),
        deleted_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn find_tenant<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<TenantModel>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn find_tenant_by_code<C: ConnectionTrait>(db: &C, code: &str) -> Result<Option<TenantModel>, DbErr> {
    Entity::find().filter(Column::TenantCode.eq(code)).one(db).await
}

/// Applies `changes` to a tenant that is not deleted; `None` if there is none.
pub async fn update_tenant<C: ConnectionTrait>(
    db: &C,
    id: &str,
    changes: TenantChanges,
    now: DateTime<Utc>,
) -> Result<Option<TenantModel>, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.ne(STATUS_DELETED));
    if let Some(v) = changes.name {
        update = update.col_expr(Column::Name, Expr::value(v));
    }
    if let Some(v) = changes.max_accounts {
        update = update.col_expr(Column::MaxAccounts, Expr::value(v));
    }
    if let Some(v) = changes.max_daily_messages {
        update = update.col_expr(Column::MaxDailyMessages, Expr::value(v));
    }
    if let Some(v) = changes.webhook_url {
        update = update.col_expr(Column::WebhookUrl, Expr::value(v));
    }
    if let Some(v) = changes.config {
        update = update.col_expr(Column::Config, Expr::value(json::to_text_opt(v.as_ref())));
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Ok(None);
    }
    find_tenant(db, id).await
}

/// Moves a tenant to `status` (a `STATUS_*`), recording why; deleting also
/// stamps `deleted_at`. `None` if the tenant does not exist.
pub async fn set_tenant_status<C: ConnectionTrait>(
    db: &C,
    id: &str,
    status: &str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<TenantModel>, DbErr> {
    let deleted_at = (status == STATUS_DELETED).then_some(now);
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::StatusReason, Expr::value(reason))
        .col_expr(Column::DeletedAt, Expr::value(deleted_at))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(None);
    }
    find_tenant(db, id).await
}

/// Newest first, keyset-paginated.
pub async fn list_tenants<C: ConnectionTrait>(
    db: &C,
    filter: &TenantFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<TenantModel>, Option<Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(s) = &filter.status {
        select = select.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(q) = filter.query.as_deref().filter(|q| !q.is_empty()) {
        let p = like_pattern(q);
        select = select.filter(Condition::any().add(ilike(Column::TenantCode, &p)).add(ilike(Column::Name, &p)));
    }
    fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |t| Cursor {
        created_at: t.created_at,
        id: t.id.clone(),
    })
    .await
}
