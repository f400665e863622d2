//! Receivers of batches: written in chunks (never a whole list of models at
//! once), unique per (batch, receiver key) so a replayed chunk adds nothing,
//! fed in `seq` order, and moved out of `pending` only by writes that are
//! conditional on `pending` (a second feeder changes nothing).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationDef,
};

use super::entity::{message, receiver};
use crate::domain::batch_progress::receiver as status;

/// Rows per INSERT statement: keeps the bound values under every backend's
/// limit whatever `dispatch.batch_chunk` says.
const ROWS_PER_STATEMENT: usize = 1_000;

/// A receiver to add to a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReceiver {
    pub conversation_id: String,
    /// `private` | `group`.
    pub chat_type: &'static str,
    pub name: String,
    pub variables: BTreeMap<String, String>,
}

/// Inserts `receivers` of batch `batch_id` with `seq` from `first_seq` on,
/// skipping keys the batch already has; returns how many were inserted
/// (exact only when the caller filtered out existing keys first, as
/// [`existing_keys`] allows; a conflicting row is skipped either way).
pub async fn insert_receivers<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    batch_id: &str,
    first_seq: i64,
    receivers: &[NewReceiver],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut seq = first_seq;
    for chunk in receivers.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(|r| {
            seq += 1;
            receiver::ActiveModel {
                id: Set(super::new_id()),
                tenant_id: Set(tenant_id.to_owned()),
                batch_id: Set(batch_id.to_owned()),
                seq: Set(seq),
                receiver_key: Set(r.conversation_id.clone()),
                receiver_name: Set(Some(r.name.clone()).filter(|n| !n.is_empty())),
                conversation_id: Set(r.conversation_id.clone()),
                chat_type: Set(r.chat_type.to_owned()),
                variables: Set((!r.variables.is_empty()).then(|| super::to_json(&r.variables))),
                status: Set(status::PENDING.to_owned()),
                message_id: Set(None),
                error_message: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
        });
        let conflict = OnConflict::columns([receiver::Column::BatchId, receiver::Column::ReceiverKey])
            .do_nothing_on([receiver::Column::Id])
            .to_owned();
        receiver::Entity::insert_many(rows).on_conflict(conflict).try_insert().exec(db).await?;
    }
    Ok(receivers.len() as u64)
}

/// The keys among `keys` that batch `batch_id` already has.
pub async fn existing_keys<C: ConnectionTrait>(
    db: &C,
    batch_id: &str,
    keys: &[String],
) -> Result<HashSet<String>, DbErr> {
    let mut found = HashSet::new();
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = receiver::Entity::find()
            .select_only()
            .column(receiver::Column::ReceiverKey)
            .filter(receiver::Column::BatchId.eq(batch_id))
            .filter(receiver::Column::ReceiverKey.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// The next `limit` receivers of the batch still to feed, in `seq` order.
pub async fn next_pending<C: ConnectionTrait>(
    db: &C,
    batch_id: &str,
    limit: u64,
) -> Result<Vec<receiver::Model>, DbErr> {
    receiver::Entity::find()
        .filter(receiver::Column::BatchId.eq(batch_id))
        .filter(receiver::Column::Status.eq(status::PENDING))
        .order_by_asc(receiver::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Links each receiver to its message. Conditional: a receiver already
/// linked keeps its message; a receiver cancelled meanwhile is linked too
/// (its message exists, and is what the counters count).
pub async fn mark_queued<C: ConnectionTrait>(
    db: &C,
    links: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut changed = 0;
    for (receiver_id, message_id) in links {
        let res = receiver::Entity::update_many()
            .col_expr(receiver::Column::Status, Expr::value(status::QUEUED))
            .col_expr(receiver::Column::MessageId, Expr::value(message_id.as_str()))
            .col_expr(receiver::Column::UpdatedAt, Expr::value(now))
            .filter(receiver::Column::Id.eq(receiver_id.as_str()))
            .filter(receiver::Column::Status.is_in([status::PENDING, status::CANCELLED]))
            .filter(receiver::Column::MessageId.is_null())
            .exec(db)
            .await?;
        changed += res.rows_affected;
    }
    Ok(changed)
}

/// A receiver that cannot be sent (its content did not render): failed with
/// `reason`, unless it left `pending` meanwhile.
pub async fn mark_failed<C: ConnectionTrait>(
    db: &C,
    receiver_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = receiver::Entity::update_many()
        .col_expr(receiver::Column::Status, Expr::value(status::FAILED))
        .col_expr(receiver::Column::ErrorMessage, Expr::value(reason))
        .col_expr(receiver::Column::UpdatedAt, Expr::value(now))
        .filter(receiver::Column::Id.eq(receiver_id))
        .filter(receiver::Column::Status.eq(status::PENDING))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn has_pending<C: ConnectionTrait>(db: &C, batch_id: &str) -> Result<bool, DbErr> {
    Ok(!next_pending(db, batch_id, 1).await?.is_empty())
}

/// Per batch: receivers that never got a message, `(failed, cancelled)`.
pub async fn unfed_outcomes<C: ConnectionTrait>(
    db: &C,
    batch_ids: &[String],
) -> Result<HashMap<String, (u64, u64)>, DbErr> {
    let rows: Vec<(String, String, i64)> = receiver::Entity::find()
        .select_only()
        .column(receiver::Column::BatchId)
        .column(receiver::Column::Status)
        .column_as(receiver::Column::Id.count(), "n")
        .filter(receiver::Column::BatchId.is_in(batch_ids.iter().cloned()))
        .filter(receiver::Column::Status.is_in([status::FAILED, status::CANCELLED]))
        .filter(receiver::Column::MessageId.is_null())
        .group_by(receiver::Column::BatchId)
        .group_by(receiver::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, (u64, u64)> = HashMap::new();
    for (batch, s, n) in rows {
        let entry = out.entry(batch).or_default();
        let n = u64::try_from(n).unwrap_or(0);
        if s == status::FAILED {
            entry.0 += n;
        } else {
            entry.1 += n;
        }
    }
    Ok(out)
}

/// What `ListReceivers` shows, by the receiver's derived status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverFilter {
    Pending,
    Queued,
    Sent,
    Delivered,
    Failed,
    Cancelled,
}

fn message_of() -> RelationDef {
    receiver::Entity::belongs_to(message::Entity).from(receiver::Column::MessageId).to(message::Column::Id).into()
}

/// One page of a batch's receivers after `after_seq`, with their messages.
pub async fn list_receivers<C: ConnectionTrait>(
    db: &C,
    batch_id: &str,
    filter: Option<ReceiverFilter>,
    after_seq: Option<i64>,
    limit: u64,
) -> Result<(Vec<(receiver::Model, Option<message::Model>)>, Option<i64>), DbErr> {
    use message::Column as M;
    use receiver::Column as R;
    let mut select = receiver::Entity::find().filter(R::BatchId.eq(batch_id));
    if let Some(seq) = after_seq {
        select = select.filter(R::Seq.gt(seq));
    }
    if let Some(f) = filter {
        let by_message = |s: &[&str]| M::Status.is_in(s.iter().map(|s| (*s).to_owned()));
        let unfed = |s: &str| Condition::all().add(R::Status.eq(s)).add(R::MessageId.is_null());
        let cond = match f {
            ReceiverFilter::Pending => unfed(status::PENDING),
            ReceiverFilter::Queued => Condition::all().add(by_message(&["pending", "sending"])),
            ReceiverFilter::Sent => Condition::all().add(by_message(&["sent"])),
            ReceiverFilter::Delivered => Condition::all().add(by_message(&["delivered"])),
            ReceiverFilter::Failed => Condition::any().add(by_message(&["failed"])).add(unfed(status::FAILED)),
            ReceiverFilter::Cancelled => Condition::any().add(by_message(&["cancelled"])).add(unfed(status::CANCELLED)),
        };
        select = select.join(JoinType::LeftJoin, message_of()).filter(cond);
    }
    let limit = limit.clamp(1, wework_kit::pagination::MAX_PAGE_SIZE);
    let mut rows = select.order_by_asc(R::Seq).limit(limit + 1).all(db).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let ids: Vec<String> = rows.iter().filter_map(|r| r.message_id.clone()).collect();
    let mut messages: HashMap<String, message::Model> =
        super::find_messages(db, &ids).await?.into_iter().map(|m| (m.id.clone(), m)).collect();
    let page = rows
        .into_iter()
        .map(|r| {
            let m = r.message_id.as_ref().and_then(|id| messages.remove(id));
            (r, m)
        })
        .collect();
    Ok((page, next))
}
