//! Groups and their members: a sync's page upserts and sweeps, and the lists.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter};

use crate::domain::directory::row_status;
use crate::store::entity::{group, group_member};

/// Filters of `ListGroups`.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub tenant_id: String,
    pub account_id: String,
    /// Substring of the name.
    pub text: Option<String>,
    pub include_left: bool,
}

/// Filters of `ListGroupMembers`.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub tenant_id: String,
    pub account_id: String,
    pub group_id: String,
    pub include_left: bool,
}

/// One page of groups in one statement; a group seen again is `active`.
pub async fn upsert_groups<C: ConnectionTrait>(db: &C, rows: Vec<group::Model>) -> Result<(), DbErr> {
    use group::Column as G;
    let on_conflict = OnConflict::columns([G::AccountId, G::GroupId])
        .update_columns([G::Name, G::OwnerId, G::MemberCount, G::Notice, G::Status, G::LastSyncTime, G::UpdatedAt])
        .to_owned();
    group::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// One page of a group's members in one statement; a member seen again is
/// `active` and no longer has a `left_at`.
pub async fn upsert_members<C: ConnectionTrait>(db: &C, rows: Vec<group_member::Model>) -> Result<(), DbErr> {
    use group_member::Column as M;
    let on_conflict = OnConflict::columns([M::AccountId, M::GroupId, M::UserId])
        .update_columns([
            M::Name,
            M::GroupNickname,
            M::Role,
            M::JoinedAt,
            M::Status,
            M::LeftAt,
            M::LastSyncTime,
            M::UpdatedAt,
        ])
        .to_owned();
    group_member::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// After a complete pass: groups the sync did not see are `left`, and
/// members it did not see in their group (which includes every member of a
/// group left) are `left` as of the sync. Returns `(groups, members)`.
pub async fn sweep_groups<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    use group::Column as G;
    use group_member::Column as M;
    let groups = group::Entity::update_many()
        .col_expr(G::Status, Expr::value(row_status::LEFT))
        .col_expr(G::UpdatedAt, Expr::value(now))
        .filter(G::AccountId.eq(account_id))
        .filter(G::Status.eq(row_status::ACTIVE))
        .filter(G::LastSyncTime.lt(start))
        .exec(db)
        .await?;
    let members = group_member::Entity::update_many()
        .col_expr(M::Status, Expr::value(row_status::LEFT))
        .col_expr(M::LeftAt, Expr::value(start))
        .col_expr(M::UpdatedAt, Expr::value(now))
        .filter(M::AccountId.eq(account_id))
        .filter(M::Status.eq(row_status::ACTIVE))
        .filter(M::LastSyncTime.lt(start))
        .exec(db)
        .await?;
    Ok((groups.rows_affected, members.rows_affected))
}

pub async fn list_groups<C: ConnectionTrait>(
    db: &C,
    f: &GroupFilter,
    cursor: Option<&crate::store::Cursor>,
    limit: u64,
) -> Result<(Vec<group::Model>, Option<crate::store::Cursor>), DbErr> {
    use group::Column as G;
    let mut select = group::Entity::find()
        .filter(G::TenantId.eq(f.tenant_id.as_str()))
        .filter(G::AccountId.eq(f.account_id.as_str()));
    if !f.include_left {
        select = select.filter(G::Status.eq(row_status::ACTIVE));
    }
    if let Some(text) = &f.text {
        select = select.filter(crate::store::ilike(G::Name, &crate::store::like_pattern(text)));
    }
    wework_kit::pagination::keyset_page(db, select, G::CreatedAt, G::Id, cursor, limit, |r| crate::store::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

pub async fn find_group<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    account_id: &str,
    group_id: &str,
) -> Result<Option<group::Model>, DbErr> {
    use group::Column as G;
    group::Entity::find()
        .filter(G::TenantId.eq(tenant_id))
        .filter(G::AccountId.eq(account_id))
        .filter(G::GroupId.eq(group_id))
        .one(db)
        .await
}

pub async fn list_members<C: ConnectionTrait>(
    db: &C,
    f: &MemberFilter,
    cursor: Option<&crate::store::Cursor>,
    limit: u64,
) -> Result<(Vec<group_member::Model>, Option<crate::store::Cursor>), DbErr> {
    use group_member::Column as M;
    let mut select = group_member::Entity::find()
        .filter(M::TenantId.eq(f.tenant_id.as_str()))
        .filter(M::AccountId.eq(f.account_id.as_str()))
        .filter(M::GroupId.eq(f.group_id.as_str()));
    if !f.include_left {
        select = select.filter(M::Status.eq(row_status::ACTIVE));
    }
    wework_kit::pagination::keyset_page(db, select, M::CreatedAt, M::Id, cursor, limit, |r| crate::store::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}
