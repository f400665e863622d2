//! Instances: registry, capacity-aware assignment (a conditional increment
//! of `account_count`, so two logins never overfill one), heartbeats and
//! restart counting.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::instance::{self, ActiveModel, Column, Entity};

pub mod instance_status {
    pub const ACTIVE: &str = "active";
    pub const DRAINING: &str = "draining";
    pub const DISABLED: &str = "disabled";
}

pub async fn insert_instance<C: ConnectionTrait>(db: &C, row: instance::Model) -> Result<instance::Model, DbErr> {
    let active: ActiveModel = row.into();
    active.insert(db).await
}

pub async fn find_instance<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<instance::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn save_instance<C: ConnectionTrait>(db: &C, row: instance::Model) -> Result<instance::Model, DbErr> {
    let mut active: ActiveModel = row.into();
    for col in [
        Column::ApiUrl,
        Column::TokenSealed,
        Column::Status,
        Column::MaxAccounts,
        Column::ProxyConfig,
        Column::ProxyPasswordSealed,
        Column::Region,
        Column::UpdatedAt,
    ] {
        active.reset(col);
    }
    active.update(db).await
}

pub async fn list_instances<C: ConnectionTrait>(
    db: &C,
    status: Option<&str>,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<instance::Model>, Option<super::Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(s) = status {
        select = select.filter(Column::Status.eq(s));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// Active instances with room, the preferred region first, then the least
/// loaded (by fill ratio).
pub async fn assignment_candidates<C: ConnectionTrait>(db: &C, region: &str) -> Result<Vec<instance::Model>, DbErr> {
    let mut rows = Entity::find()
        .filter(Column::Status.eq(instance_status::ACTIVE))
        .filter(Expr::col(Column::AccountCount).lt(Expr::col(Column::MaxAccounts)))
        .order_by_asc(Column::CreatedAt)
        .limit(200)
        .all(db)
        .await?;
    rows.sort_by(|a, b| {
        let region_rank = |i: &instance::Model| u8::from(region.is_empty() || i.region != region);
        let fill = |i: &instance::Model| f64::from(i.account_count) / f64::from(Ord::max(i.max_accounts, 1));
        region_rank(a).cmp(&region_rank(b)).then(fill(a).total_cmp(&fill(b)))
    });
    Ok(rows)
}

/// Takes one slot of an instance if it is still active and has room.
pub async fn take_slot<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::AccountCount, Expr::col(Column::AccountCount).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(instance_status::ACTIVE))
        .filter(Expr::col(Column::AccountCount).lt(Expr::col(Column::MaxAccounts)))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives a slot back (an account left the instance or was deleted).
pub async fn release_slot<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::AccountCount, Expr::col(Column::AccountCount).sub(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::AccountCount.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a heartbeat; returns whether the instance restarted since the
/// last one (its `boot_id` changed), which also bumps `restart_count`.
pub async fn record_instance_heartbeat<C: ConnectionTrait>(
    db: &C,
    id: &str,
    boot_id: &str,
    version: &str,
    now: DateTime<Utc>,
) -> Result<Option<bool>, DbErr> {
    let Some(row) = find_instance(db, id).await? else {
        return Ok(None);
    };
    let restarted = !boot_id.is_empty() && !row.boot_id.is_empty() && row.boot_id != boot_id;
    let mut update = Entity::update_many()
        .col_expr(Column::LastHeartbeatAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id));
    if !boot_id.is_empty() {
        update = update.col_expr(Column::BootId, Expr::value(boot_id));
    }
    if !version.is_empty() {
        update = update.col_expr(Column::Version, Expr::value(version));
    }
    if restarted {
        // Only the first report of a new boot counts, however many race.
        update = update
            .col_expr(Column::RestartCount, Expr::col(Column::RestartCount).add(1))
            .filter(Column::BootId.eq(row.boot_id.as_str()));
    }
    let res = update.exec(db).await?;
    Ok(Some(restarted && res.rows_affected == 1))
}

/// Unknown ids come back empty; used to resolve many accounts' instances.
pub async fn instances_by_ids<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<instance::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find().filter(Column::Id.is_in(ids.iter().cloned())).all(db).await
}

/// Instances not disabled whose last heartbeat is older than `before` (or
/// missing): the watchdog probes their health.
pub async fn instances_due_for_probe<C: ConnectionTrait>(
    db: &C,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<instance::Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.ne(instance_status::DISABLED))
        .filter(
            sea_orm::Condition::any().add(Column::LastHeartbeatAt.is_null()).add(Column::LastHeartbeatAt.lt(before)),
        )
        .order_by_asc(Column::LastHeartbeatAt)
        .limit(limit)
        .all(db)
        .await
}
