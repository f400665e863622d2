//! Accounts: per-tenant usage (the exact `max_accounts` check), CRUD scoped
//! by tenant, compare-and-set writes on `version`, and the watchdog's scans.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entity::account::{self, Column, Entity};
use super::entity::tenant_usage;

/// Takes one of the tenant's `max_accounts` slots; false when all are used.
/// Row-locked per tenant, so concurrent creates never overshoot.
pub async fn reserve_account_slot<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    max_accounts: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let seed = tenant_usage::ActiveModel {
        tenant_id: sea_orm::Set(tenant_id.to_owned()),
        accounts: sea_orm::Set(0),
        updated_at: sea_orm::Set(now),
    };
    tenant_usage::Entity::insert(seed).on_conflict_do_nothing().exec_without_returning(db).await?;
    let res = tenant_usage::Entity::update_many()
        .col_expr(tenant_usage::Column::Accounts, Expr::col(tenant_usage::Column::Accounts).add(1))
        .col_expr(tenant_usage::Column::UpdatedAt, Expr::value(now))
        .filter(tenant_usage::Column::TenantId.eq(tenant_id))
        .filter(tenant_usage::Column::Accounts.lt(max_accounts))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn release_account_slot<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    tenant_usage::Entity::update_many()
        .col_expr(tenant_usage::Column::Accounts, Expr::col(tenant_usage::Column::Accounts).sub(1))
        .col_expr(tenant_usage::Column::UpdatedAt, Expr::value(now))
        .filter(tenant_usage::Column::TenantId.eq(tenant_id))
        .filter(tenant_usage::Column::Accounts.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_account<C: ConnectionTrait>(db: &C, row: account::Model) -> Result<account::Model, DbErr> {
    row.into_active_model().insert(db).await
}

/// An account by id; `tenant` confines the lookup (`None`: any tenant).
pub async fn find_account<C: ConnectionTrait>(
    db: &C,
    id: &str,
    tenant: Option<&str>,
) -> Result<Option<account::Model>, DbErr> {
    let mut select = Entity::find_by_id(id.to_owned());
    if let Some(t) = tenant {
        select = select.filter(Column::TenantId.eq(t));
    }
    select.one(db).await
}

pub async fn find_account_by_guid<C: ConnectionTrait>(db: &C, guid: &str) -> Result<Option<account::Model>, DbErr> {
    Entity::find().filter(Column::Guid.eq(guid)).one(db).await
}

/// Writes every column of `row` if nobody changed the account since it was
/// read at `row.version - 1`; false on a lost race (re-read and re-decide).
pub async fn write_account_if_unchanged<C: ConnectionTrait>(db: &C, row: &account::Model) -> Result<bool, DbErr> {
    let mut active = row.clone().into_active_model().reset_all();
    active.not_set(Column::Id);
    active.not_set(Column::TenantId);
    active.not_set(Column::CreatedAt);
    let res = Entity::update_many()
        .set(active)
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::Version.eq(row.version - 1))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn delete_account<C: ConnectionTrait>(db: &C, id: &str, tenant: &str) -> Result<bool, DbErr> {
    let res = Entity::delete_many().filter(Column::Id.eq(id)).filter(Column::TenantId.eq(tenant)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// Filters of `ListAccounts`.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// `None` only for platform callers listing every tenant.
    pub tenant_id: Option<String>,
    pub status: Option<String>,
    pub instance_id: Option<String>,
    pub text: Option<String>,
}

pub async fn list_accounts<C: ConnectionTrait>(
    db: &C,
    filter: &AccountFilter,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<account::Model>, Option<super::Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(t) = &filter.tenant_id {
        select = select.filter(Column::TenantId.eq(t.as_str()));
    }
    if let Some(s) = &filter.status {
        select = select.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(i) = &filter.instance_id {
        select = select.filter(Column::InstanceId.eq(i.as_str()));
    }
    if let Some(text) = &filter.text {
        let pattern = super::like_pattern(text);
        select = select.filter(
            Condition::any()
                .add(super::ilike(Column::AccountName, &pattern))
                .add(super::ilike(Column::Phone, &pattern))
                .add(super::ilike(Column::Email, &pattern))
                .add(super::ilike(Column::Remark, &pattern)),
        );
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// Online accounts whose last heartbeat is older than `stale_before`.
pub async fn silent_online_accounts<C: ConnectionTrait>(
    db: &C,
    stale_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<account::Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.eq("online"))
        .filter(
            Condition::any().add(Column::LastHeartbeatTime.lt(stale_before)).add(Column::LastHeartbeatTime.is_null()),
        )
        .order_by_asc(Column::LastHeartbeatTime)
        .limit(limit)
        .all(db)
        .await
}

/// Offline or recovering accounts whose next restore attempt is due.
pub async fn due_recoveries<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<account::Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.is_in(["offline", "recovering"]))
        .filter(Column::NextRecoverAt.lte(now))
        .order_by_asc(Column::NextRecoverAt)
        .limit(limit)
        .all(db)
        .await
}

/// Accounts of an instance that were logged in (or logging in) when it
/// restarted: their sessions may be gone.
pub async fn accounts_with_sessions_on<C: ConnectionTrait>(
    db: &C,
    instance_id: &str,
    limit: u64,
) -> Result<Vec<account::Model>, DbErr> {
    Entity::find()
        .filter(Column::InstanceId.eq(instance_id))
        .filter(Column::Status.is_in(["online", "recovering"]))
        .limit(limit)
        .all(db)
        .await
}

/// Records a heartbeat of an online account; no status change, no history.
pub async fn touch_heartbeat<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::LastHeartbeatTime, Expr::value(now))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq("online"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
