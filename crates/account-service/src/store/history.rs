//! Status history: written in each transition's transaction, read newest
//! first, and relayed as `account.status_changed` events (the outbox).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::status_history::{self, Column, Entity};

pub async fn insert_history<C: ConnectionTrait>(
    db: &C,
    row: status_history::Model,
) -> Result<status_history::Model, DbErr> {
    row.into_active_model().insert(db).await
}

pub async fn list_history<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<status_history::Model>, Option<super::Cursor>), DbErr> {
    let select = Entity::find().filter(Column::AccountId.eq(account_id));
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// Transitions whose event has not reached the task center, oldest first.
pub async fn unpublished_history<C: ConnectionTrait>(
    db: &C,
    created_before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<status_history::Model>, DbErr> {
    Entity::find()
        .filter(Column::PublishedAt.is_null())
        .filter(Column::CreatedAt.lt(created_before))
        .order_by_asc(Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

pub async fn mark_published<C: ConnectionTrait>(db: &C, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many().col_expr(Column::PublishedAt, Expr::value(now)).filter(Column::Id.eq(id)).exec(db).await?;
    Ok(())
}
