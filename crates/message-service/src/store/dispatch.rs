//! The dispatcher's side of the messages table: claim due outgoing messages
//! with a lease, renew and reclaim leases, and write what became of each
//! claimed message; sample the due backlog for the queue gauges.
//!
//! Contract: every result is ONE conditional `UPDATE … WHERE id = ? AND
//! claim_id = ? AND status = 'sending'`. A dispatcher whose lease ran out and
//! was taken over writes nothing (the claim id changed); neither does one
//! whose message a receipt already moved on (sent/delivered, see
//! `MessageStatus::receipt_applies`). A batch of results is one transaction
//! together with the statistics of the rows that were written, so counters
//! never count a write that did not happen.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait};
use wework_kit::lease::{self, LeaseSpec};
use wework_kit::telemetry::queue::{QueueSample, due_sample};

use super::entity::message::{self, Column, Entity};
use super::statistics::{StatBump, bump_statistics};
use crate::domain::status::{MessageStatus, StatDelta};

/// How messages are leased (see `wework_kit::lease`): due outgoing pending
/// messages, highest priority first, then the longest due (`ix_messages_due`).
pub const MESSAGE_LEASE: LeaseSpec = LeaseSpec {
    table: "messages",
    claimable: "status = 'pending' AND direction = 'out' AND next_attempt_at <= ?",
    order_by: "priority DESC, next_attempt_at ASC",
    on_claim: "status = 'sending'",
    held: "status = 'sending'",
    on_expiry: "status = 'pending'",
};

/// Claims up to `limit` due messages for `worker`; returns the claim id and
/// the rows in claim order.
pub async fn claim_due_messages(
    db: &DatabaseConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<(String, Vec<message::Model>), DbErr> {
    let claim = lease::claim(db, &MESSAGE_LEASE, vec![now.into()], worker, lease_until, limit).await?;
    if claim.ids.is_empty() {
        return Ok((claim.claim_id, Vec::new()));
    }
    let mut rows = Vec::with_capacity(claim.ids.len());
    for chunk in claim.ids.chunks(500) {
        rows.extend(
            Entity::find()
                .filter(Column::Id.is_in(chunk.iter().cloned()))
                .filter(Column::ClaimId.eq(claim.claim_id.as_str()))
                .all(db)
                .await?,
        );
    }
    rows.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.next_attempt_at.cmp(&b.next_attempt_at)));
    Ok((claim.claim_id, rows))
}

/// Pending messages due at `now` (what the dispatcher has yet to claim) and
/// the oldest due time among them, all tenants: one pass over the pending
/// range of `ix_messages_due`. `direction` is not filtered: an inbound
/// message is never `pending`.
pub async fn due_backlog<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<QueueSample, DbErr> {
    due_sample::<Entity, _>(db, Column::Status, MessageStatus::Pending.as_str(), Column::NextAttemptAt, now).await
}

pub async fn renew_message_leases<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[String],
    lease_until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    lease::renew(db, &MESSAGE_LEASE, claim_ids, lease_until).await
}

/// Returns messages whose dispatcher vanished to `pending` (still due, so
/// the next claim sends them again; the instance de-duplicates on the
/// message id).
pub async fn reclaim_expired_messages<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    lease::reclaim_expired(db, &MESSAGE_LEASE, now).await
}

/// What became of one claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The instance accepted it. `latency_ms` counts in the statistics.
    Sent { wework_msg_id: String, send_time: DateTime<Utc>, latency_ms: i64 },
    /// Not attempted (throttle, account offline, rate limit): pending again,
    /// due at `at`; no attempt counted.
    Deferred { at: DateTime<Utc> },
    /// A failed attempt that may succeed later: `retry_count + 1`, pending,
    /// due at `at`, the error kept for whoever looks meanwhile.
    Retry { at: DateTime<Utc>, error_code: String, error_message: String },
    /// Final. `attempt`: the failure was an attempt (counts in `retry_count`).
    Failed { error_code: String, error_message: String, attempt: bool },
    /// Its batch is paused: pending and held (`next_attempt_at = NULL`)
    /// until the batch resumes.
    Held,
    /// Its batch was cancelled or failed before it was sent.
    Cancelled { error_code: String, error_message: String },
}

impl Resolution {
    /// The status the message ends in.
    pub fn status(&self) -> MessageStatus {
        match self {
            Self::Sent { .. } => MessageStatus::Sent,
            Self::Deferred { .. } | Self::Retry { .. } | Self::Held => MessageStatus::Pending,
            Self::Failed { .. } => MessageStatus::Failed,
            Self::Cancelled { .. } => MessageStatus::Cancelled,
        }
    }
}

/// A result to write: the row as claimed and its resolution.
#[derive(Debug, Clone)]
pub struct DispatchResult {
    pub message: message::Model,
    pub resolution: Resolution,
}

/// Writes `results` of claim `claim_id` in one transaction with their
/// statistics. Returns the results that were written, each with the row as
/// it is now; the others' leases were lost (or a receipt overtook them).
pub async fn write_dispatch_results(
    db: &DatabaseConnection,
    claim_id: &str,
    results: Vec<DispatchResult>,
    now: DateTime<Utc>,
) -> Result<Vec<DispatchResult>, DbErr> {
    if results.is_empty() {
        return Ok(Vec::new());
    }
    let txn = db.begin().await?;
    let mut written = Vec::with_capacity(results.len());
    let mut bumps = Vec::new();
    for r in results {
        if write_one(&txn, claim_id, &r.resolution, &r.message.id, now).await? {
            let row = apply(r.message, &r.resolution, now);
            let latency = match &r.resolution {
                Resolution::Sent { latency_ms, .. } => Some(*latency_ms),
                _ => None,
            };
            let to = r.resolution.status();
            bumps.push(StatBump::of(&row, StatDelta::reaching(MessageStatus::Sending, to, latency)));
            written.push(DispatchResult { message: row, resolution: r.resolution });
        } else {
            tracing::warn!(message_id = %r.message.id, "lease lost before the result was written; result dropped");
        }
    }
    bump_statistics(&txn, &bumps, now).await?;
    txn.commit().await?;
    Ok(written)
}

/// The one conditional UPDATE of a result; true when it applied.
async fn write_one<C: ConnectionTrait>(
    db: &C,
    claim_id: &str,
    resolution: &Resolution,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let none_time = Option::<DateTime<Utc>>::None;
    let none_text = Option::<String>::None;
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(resolution.status().as_str()))
        .col_expr(Column::ClaimId, Expr::value(none_text.clone()))
        .col_expr(Column::ClaimedBy, Expr::value(none_text.clone()))
        .col_expr(Column::LeaseUntil, Expr::value(none_time))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    update = match resolution {
        Resolution::Sent { wework_msg_id, send_time, .. } => update
            .col_expr(Column::WeworkMsgId, Expr::value(wework_msg_id.clone()))
            .col_expr(Column::SendTime, Expr::value(*send_time))
            .col_expr(Column::NextAttemptAt, Expr::value(none_time))
            .col_expr(Column::ErrorCode, Expr::value(none_text.clone()))
            .col_expr(Column::ErrorMessage, Expr::value(none_text)),
        Resolution::Deferred { at } => update.col_expr(Column::NextAttemptAt, Expr::value(*at)),
        Resolution::Retry { at, error_code, error_message } => update
            .col_expr(Column::NextAttemptAt, Expr::value(*at))
            .col_expr(Column::RetryCount, Expr::col(Column::RetryCount).add(1))
            .col_expr(Column::ErrorCode, Expr::value(error_code.clone()))
            .col_expr(Column::ErrorMessage, Expr::value(error_message.clone())),
        Resolution::Failed { error_code, error_message, attempt } => {
            let update = update
                .col_expr(Column::NextAttemptAt, Expr::value(none_time))
                .col_expr(Column::ErrorCode, Expr::value(error_code.clone()))
                .col_expr(Column::ErrorMessage, Expr::value(error_message.clone()));
            if *attempt { update.col_expr(Column::RetryCount, Expr::col(Column::RetryCount).add(1)) } else { update }
        }
        Resolution::Held => update.col_expr(Column::NextAttemptAt, Expr::value(none_time)),
        Resolution::Cancelled { error_code, error_message } => update
            .col_expr(Column::NextAttemptAt, Expr::value(none_time))
            .col_expr(Column::ErrorCode, Expr::value(error_code.clone()))
            .col_expr(Column::ErrorMessage, Expr::value(error_message.clone())),
    };
    let done = update
        .filter(Column::Id.eq(id))
        .filter(Column::ClaimId.eq(claim_id))
        .filter(Column::Status.eq(MessageStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The row as the UPDATE left it (for events, without reading it back).
fn apply(mut row: message::Model, resolution: &Resolution, now: DateTime<Utc>) -> message::Model {
    row.status = resolution.status().as_str().to_owned();
    row.claim_id = None;
    row.claimed_by = None;
    row.lease_until = None;
    row.updated_at = now;
    match resolution {
        Resolution::Sent { wework_msg_id, send_time, .. } => {
            row.wework_msg_id = Some(wework_msg_id.clone());
            row.send_time = Some(*send_time);
            row.next_attempt_at = None;
            row.error_code = None;
            row.error_message = None;
        }
        Resolution::Deferred { at } => row.next_attempt_at = Some(*at),
        Resolution::Retry { at, error_code, error_message } => {
            row.next_attempt_at = Some(*at);
            row.retry_count += 1;
            row.error_code = Some(error_code.clone());
            row.error_message = Some(error_message.clone());
        }
        Resolution::Failed { error_code, error_message, attempt } => {
            row.next_attempt_at = None;
            row.retry_count += i32::from(*attempt);
            row.error_code = Some(error_code.clone());
            row.error_message = Some(error_message.clone());
        }
        Resolution::Held => row.next_attempt_at = None,
        Resolution::Cancelled { error_code, error_message } => {
            row.next_attempt_at = None;
            row.error_code = Some(error_code.clone());
            row.error_message = Some(error_message.clone());
        }
    }
    row
}
