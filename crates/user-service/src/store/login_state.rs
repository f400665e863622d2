//! Login bookkeeping on `users`: failure counting and lockout, successful
//! logins, password changes and two-factor state. All scoped by tenant and
//! limited to users that are not deleted.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entity::user::{Column, Entity};
use super::status::STATUS_DELETED;

fn live(tenant_id: &str, id: &str) -> Condition {
    Condition::all().add(Column::TenantId.eq(tenant_id)).add(Column::Id.eq(id)).add(Column::Status.ne(STATUS_DELETED))
}

/// Adds one failed login in SQL (so concurrent failures all count) and
/// returns the new count. Call it inside a transaction so the read-back sees
/// exactly this increment; `RecordNotFound` if there is no such user.
pub async fn increment_failed_logins<C: ConnectionTrait>(db: &C, tenant_id: &str, id: &str) -> Result<i32, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::FailedLoginCount, Expr::col(Column::FailedLoginCount).add(1))
        .filter(live(tenant_id, id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(DbErr::RecordNotFound(format!("user {id}")));
    }
    let count: Option<i32> = Entity::find()
        .select_only()
        .column(Column::FailedLoginCount)
        .filter(live(tenant_id, id))
        .into_tuple()
        .one(db)
        .await?;
    count.ok_or_else(|| DbErr::RecordNotFound(format!("user {id}")))
}

/// Sets (or clears) the lock the caller computed from the failure count.
pub async fn set_locked_until<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    until: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LockedUntil, Expr::value(until))
        .filter(live(tenant_id, id))
        .exec(db)
        .await?;
    Ok(())
}

/// Resets the failure count and lock and records where the login came from.
pub async fn record_login_success<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::FailedLoginCount, Expr::value(0))
        .col_expr(Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::LastLoginAt, Expr::value(now))
        .col_expr(Column::LastLoginIp, Expr::value(ip.map(str::to_owned)))
        .filter(live(tenant_id, id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores a new password hash; a fresh password also lifts any lockout.
pub async fn set_password_hash<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(hash))
        .col_expr(Column::PasswordChangedAt, Expr::value(now))
        .col_expr(Column::FailedLoginCount, Expr::value(0))
        .col_expr(Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(live(tenant_id, id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Sets two-factor state. `secret` is the encrypted TOTP secret (kept while
/// enrolling with `enabled = false`; `None` removes it). Removing the secret
/// also forgets the replay guard.
pub async fn set_two_factor<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    enabled: bool,
    secret: Option<String>,
) -> Result<bool, DbErr> {
    let mut update =
        Entity::update_many().col_expr(Column::TwoFactorEnabled, Expr::value(enabled)).filter(live(tenant_id, id));
    if secret.is_none() {
        update = update.col_expr(Column::TwoFactorLastStep, Expr::value(Option::<i64>::None));
    }
    let res = update.col_expr(Column::TwoFactorSecret, Expr::value(secret)).exec(db).await?;
    Ok(res.rows_affected > 0)
}

/// Records the TOTP step just accepted, only if it is newer than the last
/// one. False means the code was already used (a replay, or a concurrent
/// login with the same code won).
pub async fn set_two_factor_last_step<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    step: i64,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::TwoFactorLastStep, Expr::value(step))
        .filter(live(tenant_id, id))
        .filter(Condition::any().add(Column::TwoFactorLastStep.is_null()).add(Column::TwoFactorLastStep.lt(step)))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
