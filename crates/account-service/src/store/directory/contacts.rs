//! Contacts: a sync's page upsert and its sweep, the list and the tenant's
//! own remark and tags.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter};

use crate::domain::directory::row_status;
use crate::store::entity::contact::{self, Column, Entity};

/// Filters of `ListContacts`.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub tenant_id: String,
    pub account_id: String,
    pub contact_type: Option<&'static str>,
    pub tag: Option<String>,
    /// Substring of the name, alias or remark.
    pub text: Option<String>,
    pub include_removed: bool,
}

/// One page of a sync in one statement. A contact seen again gets the
/// instance's profile, `active` and the sync's stamp; its tags and remark
/// stay the tenant's (taken from the instance on first sight only).
pub async fn upsert_contacts<C: ConnectionTrait>(db: &C, rows: Vec<contact::Model>) -> Result<(), DbErr> {
    let on_conflict = OnConflict::columns([Column::AccountId, Column::UserId])
        .update_columns([
            Column::Name,
            Column::Alias,
            Column::AvatarUrl,
            Column::ContactType,
            Column::CorpName,
            Column::Gender,
            Column::Status,
            Column::LastSyncTime,
            Column::UpdatedAt,
        ])
        .to_owned();
    Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// After a complete pass: active contacts the sync stamped `start` did not
/// see are `removed`. Returns how many.
pub async fn sweep_contacts<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::Status, Expr::value(row_status::REMOVED))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Status.eq(row_status::ACTIVE))
        .filter(Column::LastSyncTime.lt(start))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

pub async fn list_contacts<C: ConnectionTrait>(
    db: &C,
    f: &ContactFilter,
    cursor: Option<&crate::store::Cursor>,
    limit: u64,
) -> Result<(Vec<contact::Model>, Option<crate::store::Cursor>), DbErr> {
    let mut select = Entity::find()
        .filter(Column::TenantId.eq(f.tenant_id.as_str()))
        .filter(Column::AccountId.eq(f.account_id.as_str()));
    if !f.include_removed {
        select = select.filter(Column::Status.eq(row_status::ACTIVE));
    }
    if let Some(t) = f.contact_type {
        select = select.filter(Column::ContactType.eq(t));
    }
    if let Some(tag) = &f.tag {
        select = select.filter(super::has_tag(Column::Tags, tag));
    }
    if let Some(text) = &f.text {
        let pattern = crate::store::like_pattern(text);
        select = select.filter(
            Condition::any()
                .add(crate::store::ilike(Column::Name, &pattern))
                .add(crate::store::ilike(Column::Alias, &pattern))
                .add(crate::store::ilike(Column::Remark, &pattern)),
        );
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| {
        crate::store::Cursor { created_at: r.created_at, id: r.id.clone() }
    })
    .await
}

pub async fn find_contact<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    account_id: &str,
    user_id: &str,
) -> Result<Option<contact::Model>, DbErr> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::UserId.eq(user_id))
        .one(db)
        .await
}

/// Sets the tenant's remark and/or tags (JSON list); the contact as it is
/// now, `None` if there is none.
pub async fn update_contact<C: ConnectionTrait>(
    db: &C,
    key: (&str, &str, &str),
    remark: Option<&str>,
    tags: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<contact::Model>, DbErr> {
    let (tenant_id, account_id, user_id) = key;
    let mut update = Entity::update_many().col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(r) = remark {
        update = update.col_expr(Column::Remark, Expr::value(r));
    }
    if let Some(t) = tags {
        update = update.col_expr(Column::Tags, Expr::value(t));
    }
    update
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    find_contact(db, tenant_id, account_id, user_id).await
}
