//! The per-tenant, per-day message counter used when no Redis is configured.
//!
//! Reservation is a single conditional `UPDATE … SET used = used + n WHERE …
//! AND used + n <= limit`: the database serialises concurrent updates of the
//! row (InnoDB row lock, SQLite's write lock), so the check and the increment
//! cannot interleave and the counter never exceeds the limit.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use super::entity::daily_usage::{ActiveModel, Column, Entity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyReservation {
    pub granted: bool,
    /// The day's count after this call (including the `n` when granted).
    pub used: i64,
}

/// Reserves `n` messages of `limit` for `day` (`YYYY-MM-DD`), all or nothing.
pub async fn reserve_daily_messages<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    day: &str,
    n: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<DailyReservation, DbErr> {
    if n <= 0 {
        return Ok(DailyReservation { granted: true, used: daily_used(db, tenant_id, day).await? });
    }
    ensure_row(db, tenant_id, day, now).await?;
    let res = Entity::update_many()
        .col_expr(Column::Used, Expr::col(Column::Used).add(n))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Day.eq(day))
        .filter(Expr::col(Column::Used).add(n).lte(limit))
        .exec(db)
        .await?;
    let used = daily_used(db, tenant_id, day).await?;
    Ok(DailyReservation { granted: res.rows_affected > 0, used })
}

/// Gives back `n` reserved messages (a send that failed before dispatch);
/// the count never goes below zero.
pub async fn release_daily_messages<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    day: &str,
    n: i64,
) -> Result<(), DbErr> {
    if n <= 0 {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(
            Column::Used,
            Expr::case(Expr::col(Column::Used).gte(n), Expr::col(Column::Used).sub(n)).finally(0).into(),
        )
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Day.eq(day))
        .exec(db)
        .await?;
    Ok(())
}

/// Messages reserved for `day` so far (0 if none).
pub async fn daily_used<C: ConnectionTrait>(db: &C, tenant_id: &str, day: &str) -> Result<i64, DbErr> {
    let used: Option<i64> = Entity::find()
        .select_only()
        .column(Column::Used)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Day.eq(day))
        .into_tuple()
        .one(db)
        .await?;
    Ok(used.unwrap_or(0))
}

/// Creates the day's row at 0 unless it exists (first reservation of the day).
async fn ensure_row<C: ConnectionTrait>(db: &C, tenant_id: &str, day: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    let row = ActiveModel {
        tenant_id: Set(tenant_id.to_owned()),
        day: Set(day.to_owned()),
        used: Set(0),
        updated_at: Set(now),
    };
    Entity::insert(row).on_conflict_do_nothing().exec_without_returning(db).await?;
    Ok(())
}
