//! The retention job's queries: old messages that can no longer change
//! (outgoing in a final state, and every inbound one) and old statistics
//! rows, found and deleted in bounded batches so no statement holds many
//! locks or a long transaction. Deleting by id makes a batch idempotent,
//! so replicas running the job at once only repeat each other's work.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::entity::{message, statistics};
use super::messages::IN;
use crate::domain::status::MessageStatus;

/// Statuses after which an outgoing message never changes again (`sent`
/// included: a receipt this late would find nothing worth keeping).
const PURGEABLE: [MessageStatus; 4] =
    [MessageStatus::Sent, MessageStatus::Delivered, MessageStatus::Failed, MessageStatus::Cancelled];

/// Up to `limit` ids of messages created before `cutoff` that are final
/// (or inbound), any tenant.
pub async fn purgeable_message_ids<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let final_or_inbound = Condition::any()
        .add(message::Column::Direction.eq(IN))
        .add(message::Column::Status.is_in(PURGEABLE.map(MessageStatus::as_str)));
    message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::CreatedAt.lt(cutoff))
        .filter(final_or_inbound)
        .limit(limit)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// Deletes messages by id; returns how many were still there.
pub async fn delete_messages<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<u64, DbErr> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        let done =
            message::Entity::delete_many().filter(message::Column::Id.is_in(chunk.iter().cloned())).exec(db).await?;
        deleted += done.rows_affected;
    }
    Ok(deleted)
}

/// Up to `limit` ids of statistics rows of UTC days before `before_date`
/// (`YYYY-MM-DD`, compared as text: the format sorts like the dates).
pub async fn old_statistics_ids<C: ConnectionTrait>(
    db: &C,
    before_date: &str,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    statistics::Entity::find()
        .select_only()
        .column(statistics::Column::Id)
        .filter(statistics::Column::StatDate.lt(before_date))
        .limit(limit)
        .into_tuple::<String>()
        .all(db)
        .await
}

pub async fn delete_statistics<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<u64, DbErr> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        let done = statistics::Entity::delete_many()
            .filter(statistics::Column::Id.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?;
        deleted += done.rows_affected;
    }
    Ok(deleted)
}
