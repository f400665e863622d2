//! Reads of messages for the API (filtered keyset lists, idempotency look-ups)
//! and cancelling a pending message. Every function takes the tenant the
//! caller is confined to.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::entity::message::{self, Column, Entity};
use super::entity::receiver;
use crate::domain::status::MessageStatus;

/// What `ListMessages` filters on; `None` is no filter.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// `None` only for platform callers that asked for every tenant.
    pub tenant_id: Option<String>,
    pub account_id: Option<String>,
    pub conversation_id: Option<String>,
    pub status: Option<MessageStatus>,
    pub batch_id: Option<String>,
    /// Stored (seed) name: `text`, `miniprogram`, `card`, …
    pub message_type: Option<String>,
    pub direction: Option<&'static str>,
    /// Inclusive.
    pub created_after: Option<DateTime<Utc>>,
    /// Exclusive.
    pub created_before: Option<DateTime<Utc>>,
}

/// One page of messages, newest first, and the cursor of the next page.
pub async fn list_messages<C: ConnectionTrait>(
    db: &C,
    filter: &MessageFilter,
    cursor: Option<&super::Cursor>,
    limit: u64,
) -> Result<(Vec<message::Model>, Option<super::Cursor>), DbErr> {
    let mut select = Entity::find();
    if let Some(t) = &filter.tenant_id {
        select = select.filter(Column::TenantId.eq(t.as_str()));
    }
    if let Some(a) = &filter.account_id {
        select = select.filter(Column::AccountId.eq(a.as_str()));
    }
    if let Some(c) = &filter.conversation_id {
        select = select.filter(Column::ConversationId.eq(c.as_str()));
    }
    if let Some(s) = filter.status {
        select = select.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(b) = &filter.batch_id {
        select = select.filter(Column::BatchId.eq(b.as_str()));
    }
    if let Some(k) = &filter.message_type {
        select = select.filter(Column::MessageType.eq(k.as_str()));
    }
    if let Some(d) = filter.direction {
        select = select.filter(Column::Direction.eq(d));
    }
    if let Some(t) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(t));
    }
    if let Some(t) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(t));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |r| super::Cursor {
        created_at: r.created_at,
        id: r.id.clone(),
    })
    .await
}

/// The messages of `tenant` carrying any of `keys` (a repeat is answered
/// without reserving quota again).
pub async fn find_by_idempotency_keys<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    keys: &[String],
) -> Result<Vec<message::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            Entity::find()
                .filter(Column::TenantId.eq(tenant))
                .filter(Column::IdempotencyKey.is_in(chunk.iter().cloned()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Cancels the message if it is still pending: one conditional UPDATE, so
/// a dispatcher that claimed it a moment earlier wins cleanly (`false`).
/// A batch receiver whose message it was is cancelled with it.
pub async fn cancel_pending<C: ConnectionTrait>(
    db: &C,
    row: &message::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(MessageStatus::Cancelled.as_str()))
        .col_expr(Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::TenantId.eq(row.tenant_id.as_str()))
        .filter(Column::Status.eq(MessageStatus::Pending.as_str()))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Ok(false);
    }
    if let Some(receiver_id) = &row.receiver_id {
        receiver::Entity::update_many()
            .col_expr(receiver::Column::Status, Expr::value(MessageStatus::Cancelled.as_str()))
            .col_expr(receiver::Column::UpdatedAt, Expr::value(now))
            .filter(receiver::Column::Id.eq(receiver_id.as_str()))
            .filter(receiver::Column::TenantId.eq(row.tenant_id.as_str()))
            .filter(receiver::Column::MessageId.eq(row.id.as_str()))
            .exec(db)
            .await?;
    }
    Ok(true)
}

/// The newest outgoing message the instance knows as `wework_msg_id`
/// (receipts name messages by it; the id is the instance's, so it is not
/// scoped by tenant: only services call this).
pub async fn find_outgoing_by_wework_id<C: ConnectionTrait>(
    db: &C,
    wework_msg_id: &str,
) -> Result<Option<message::Model>, DbErr> {
    Entity::find()
        .filter(Column::WeworkMsgId.eq(wework_msg_id))
        .filter(Column::Direction.eq(super::OUT))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await
}
