//! Batch sends: rows scoped by tenant, status changes conditional on the
//! status they leave (two callers racing cannot both win), what pause,
//! resume and cancel do to the batch's messages, and the counters derived
//! from its messages. The lease a replica holds on a batch is in
//! [`super::batch_lease`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    Statement,
};

use super::entity::batch::{self, Column, Entity};
use super::entity::{message, receiver};
use super::receivers;
use crate::domain::batch::BatchStatus;
use crate::domain::batch_progress::{BatchCounts, receiver as rstatus};
use crate::domain::status::MessageStatus;

pub async fn insert_batch<C: ConnectionTrait>(db: &C, row: batch::Model) -> Result<batch::Model, DbErr> {
    row.into_active_model().insert(db).await
}

/// A batch by id; `tenant` confines the lookup (`None`: any tenant).
pub async fn find_batch<C: ConnectionTrait>(
    db: &C,
    id: &str,
    tenant: Option<&str>,
) -> Result<Option<batch::Model>, DbErr> {
    let mut select = Entity::find_by_id(id.to_owned());
    if let Some(t) = tenant {
        select = select.filter(Column::TenantId.eq(t));
    }
    select.one(db).await
}

/// Filters of `ListBatches`.
#[derive(Debug, Clone, Default)]
pub struct BatchFilter {
    /// `None` only for platform callers listing every tenant.
    pub tenant_id: Option<String>,
    pub status: Option<BatchStatus>,
    pub account_id: Option<String>,
}

pub async fn list_batches<C: ConnectionTrait>(
    db: &C,
    filter: &BatchFilter,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<batch::Model>, Option<super::Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(t) = &filter.tenant_id {
        select = select.filter(Column::TenantId.eq(t.as_str()));
    }
    if let Some(s) = filter.status {
        select = select.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(a) = &filter.account_id {
        select = select.filter(Column::AccountId.eq(a.as_str()));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// A status change and what comes with it.
#[derive(Debug, Clone, Default)]
pub struct StatusChange {
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// `Some(None)` clears the error message.
    pub error_message: Option<Option<String>>,
}

/// Moves batch `id` from `from` to `to`; false if it was not in `from`
/// (someone else changed it first).
pub async fn change_status<C: ConnectionTrait>(
    db: &C,
    id: &str,
    from: BatchStatus,
    to: BatchStatus,
    change: StatusChange,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(to.as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(t) = change.start_time {
        update = update.col_expr(Column::StartTime, Expr::value(t));
    }
    if let Some(t) = change.end_time {
        update = update.col_expr(Column::EndTime, Expr::value(t));
    }
    if let Some(m) = change.error_message {
        update = update.col_expr(Column::ErrorMessage, Expr::value(m));
    }
    let res = update.filter(Column::Id.eq(id)).filter(Column::Status.eq(from.as_str())).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// Stores a snapshot of the batch's derived counters (a batch reaching a
/// final status keeps its outcome in its row; reads still derive them).
pub async fn save_counts<C: ConnectionTrait>(db: &C, row: &batch::Model) -> Result<(), DbErr> {
    let fresh = find_batch(db, &row.id, None).await?.unwrap_or_else(|| row.clone());
    let c = counts(db, &[&fresh]).await?.remove(&row.id).unwrap_or_default();
    let n = |v: u64| Expr::value(i64::try_from(v).unwrap_or(i64::MAX));
    Entity::update_many()
        .col_expr(Column::SentCount, n(c.processed()))
        .col_expr(Column::SuccessCount, n(c.success()))
        .col_expr(Column::FailedCount, n(c.failed))
        .col_expr(Column::CancelledCount, n(c.cancelled))
        .filter(Column::Id.eq(row.id.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Pause: the batch's pending messages are held (`next_attempt_at = NULL`),
/// so the dispatcher no longer claims them. Messages already sending finish.
pub async fn hold_messages<C: ConnectionTrait>(db: &C, batch_id: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let res = message::Entity::update_many()
        .col_expr(message::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::BatchId.eq(batch_id))
        .filter(message::Column::Status.eq(MessageStatus::Pending.as_str()))
        .filter(message::Column::NextAttemptAt.is_not_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Resume: the batch's held messages are due now.
pub async fn release_messages<C: ConnectionTrait>(db: &C, batch_id: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let res = message::Entity::update_many()
        .col_expr(message::Column::NextAttemptAt, Expr::value(now))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::BatchId.eq(batch_id))
        .filter(message::Column::Status.eq(MessageStatus::Pending.as_str()))
        .filter(message::Column::NextAttemptAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Cancel: receivers whose message exists but is not linked yet (a feeder
/// stopped between the two writes) are linked, the batch's pending
/// messages are cancelled, and receivers never fed are cancelled. Returns
/// how many messages were cancelled (their quota is the caller's to give
/// back). Idempotent.
pub async fn cancel_rest<C: ConnectionTrait>(db: &C, batch_id: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let sql = "SELECT m.id AS message_id, r.id AS receiver_id FROM messages m \
               INNER JOIN message_receivers r ON r.id = m.receiver_id \
               WHERE m.batch_id = ? AND r.batch_id = ? AND r.status = ? AND r.message_id IS NULL";
    let values = [batch_id.into(), batch_id.into(), rstatus::PENDING.into()];
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut links = Vec::with_capacity(rows.len());
    for row in rows {
        links.push((row.try_get::<String>("", "receiver_id")?, row.try_get::<String>("", "message_id")?));
    }
    receivers::mark_queued(db, &links, now).await?;
    let cancelled = message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value(MessageStatus::Cancelled.as_str()))
        .col_expr(message::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(message::Column::ErrorCode, Expr::value("BATCH_CANCELLED"))
        .col_expr(message::Column::ErrorMessage, Expr::value("the batch was cancelled"))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::BatchId.eq(batch_id))
        .filter(message::Column::Status.eq(MessageStatus::Pending.as_str()))
        .exec(db)
        .await?;
    receiver::Entity::update_many()
        .col_expr(receiver::Column::Status, Expr::value(rstatus::CANCELLED))
        .col_expr(receiver::Column::UpdatedAt, Expr::value(now))
        .filter(receiver::Column::BatchId.eq(batch_id))
        .filter(receiver::Column::Status.eq(rstatus::PENDING))
        .exec(db)
        .await?;
    Ok(cancelled.rows_affected)
}

/// Messages of the batch the dispatcher still has to send (pending or sending).
pub async fn queued_messages<C: ConnectionTrait>(db: &C, batch_id: &str) -> Result<u64, DbErr> {
    let n: Option<i64> = message::Entity::find()
        .select_only()
        .column_as(message::Column::Id.count(), "n")
        .filter(message::Column::BatchId.eq(batch_id))
        .filter(message::Column::Status.is_in([MessageStatus::Pending.as_str(), MessageStatus::Sending.as_str()]))
        .into_tuple()
        .one(db)
        .await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// The counters of each of `batches`, derived from their messages and
/// receivers (two grouped queries for the whole list).
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    batches: &[&batch::Model],
) -> Result<HashMap<String, BatchCounts>, DbErr> {
    let ids: Vec<String> = batches.iter().map(|b| b.id.clone()).collect();
    let mut by_status: HashMap<String, Vec<(MessageStatus, u64)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Option<String>, String, i64)> = message::Entity::find()
            .select_only()
            .column(message::Column::BatchId)
            .column(message::Column::Status)
            .column_as(message::Column::Id.count(), "n")
            .filter(message::Column::BatchId.is_in(chunk.iter().cloned()))
            .group_by(message::Column::BatchId)
            .group_by(message::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        for (batch, status, n) in rows {
            if let (Some(batch), Some(status)) = (batch, MessageStatus::parse(&status)) {
                by_status.entry(batch).or_default().push((status, u64::try_from(n).unwrap_or(0)));
            }
        }
    }
    let mut unfed = HashMap::new();
    for chunk in ids.chunks(500) {
        unfed.extend(receivers::unfed_outcomes(db, chunk).await?);
    }
    Ok(batches
        .iter()
        .map(|b| {
            let (failed, cancelled) = unfed.get(&b.id).copied().unwrap_or_default();
            let messages = by_status.get(&b.id).map(Vec::as_slice).unwrap_or_default();
            let total = u64::try_from(b.total_count).unwrap_or(0);
            (b.id.clone(), BatchCounts::derive(total, messages, failed, cancelled))
        })
        .collect())
}

/// Receivers written with the batch itself (manual and import targets):
/// the counts once all chunks are in, expansion done.
pub async fn set_expanded<C: ConnectionTrait>(db: &C, batch_id: &str, total: u64) -> Result<(), DbErr> {
    let n = i64::try_from(total).unwrap_or(i64::MAX);
    Entity::update_many()
        .col_expr(Column::ExpandedCount, Expr::value(n))
        .col_expr(Column::TotalCount, Expr::value(n))
        .col_expr(Column::ExpansionDone, Expr::value(true))
        .filter(Column::Id.eq(batch_id))
        .exec(db)
        .await?;
    Ok(())
}
