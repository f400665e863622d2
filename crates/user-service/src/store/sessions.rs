//! Login sessions. A session is found by id (the refresh token names it);
//! rotation is a compare-and-set on the current refresh hash, so of two
//! concurrent refreshes with the same token exactly one wins.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use super::entity::session::{self, ActiveModel, Column, Entity};
use super::page::{Cursor, fetch_page};

pub type SessionModel = session::Model;

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    /// SHA-256 hex of the refresh token; the token itself is never stored.
    pub refresh_token_hash: String,
    pub access_token_hash: Option<String>,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_session<C: ConnectionTrait>(db: &C, new: NewSession) -> Result<SessionModel, DbErr> {
    ActiveModel {
        id: Set(new.id),
        tenant_id: Set(new.tenant_id),
        user_id: Set(new.user_id),
        refresh_token_hash: Set(new.refresh_token_hash),
        previous_refresh_hash: Set(None),
        rotated_at: Set(None),
        access_token_hash: Set(new.access_token_hash),
        device: Set(new.device),
        ip: Set(new.ip),
        // The column holds 512 characters; a longer agent string is cut, not rejected.
        user_agent: Set(new.user_agent.map(|ua| ua.chars().take(512).collect())),
        created_at: Set(new.created_at),
        expires_at: Set(new.expires_at),
        last_activity_at: Set(new.created_at),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(db)
    .await
}

/// Any session by id, revoked or expired ones included: the refresh flow
/// needs them to detect token reuse. Callers check `tenant_id` themselves.
pub async fn find_session<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<SessionModel>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Swaps the refresh hash if it is still `expected_current_hash` and the
/// session is not revoked, keeping the old hash for the reuse grace window.
/// False means another refresh won the race (or the session was revoked).
pub async fn rotate_refresh<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    expected_current_hash: &str,
    new_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::PreviousRefreshHash, Expr::value(expected_current_hash))
        .col_expr(Column::RefreshTokenHash, Expr::value(new_hash))
        .col_expr(Column::RotatedAt, Expr::value(now))
        .col_expr(Column::LastActivityAt, Expr::value(now))
        .filter(Column::Id.eq(session_id))
        .filter(Column::RefreshTokenHash.eq(expected_current_hash))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn touch_session<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastActivityAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// False if the tenant has no such live session.
pub async fn revoke_session<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokedReason, Expr::value(reason))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Revokes every live session of a user; returns their ids (for caches).
pub async fn revoke_user_sessions<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    revoke_where(db, tenant_id, Some(user_id), None, reason, now).await
}

/// Revokes every live session of a tenant (suspension, deletion); returns their ids.
pub async fn revoke_tenant_sessions<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    revoke_where(db, tenant_id, None, None, reason, now).await
}

/// Like `revoke_user_sessions` but keeps `keep_session_id` (the caller's own).
pub async fn revoke_user_sessions_except<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    keep_session_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    revoke_where(db, tenant_id, Some(user_id), Some(keep_session_id), reason, now).await
}

async fn revoke_where<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: Option<&str>,
    keep: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let mut select = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now));
    if let Some(u) = user_id {
        select = select.filter(Column::UserId.eq(u));
    }
    if let Some(k) = keep {
        select = select.filter(Column::Id.ne(k));
    }
    let ids: Vec<String> = select.into_tuple().all(db).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .col_expr(Column::RevokedReason, Expr::value(reason))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.is_in(ids.iter().map(String::as_str)))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(ids)
}

/// Sessions that are neither revoked nor expired at `now`, newest first.
pub async fn list_active_sessions<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<(Vec<SessionModel>, Option<Cursor>), DbErr> {
    let select = Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now));
    fetch_page(db, select, Column::CreatedAt, Column::Id, cursor.as_ref(), limit, |s| Cursor {
        created_at: s.created_at,
        id: s.id.clone(),
    })
    .await
}
