//! Receipts: a send result or delivery receipt moves a message forward, once.
//!
//! The status is read and written in one transaction, the write conditional
//! on the status read (`WHERE status = <read>`), so a racing dispatcher
//! write or a second receipt makes this one re-read and decide again instead
//! of overwriting. The statistics bump rides in the same transaction. The
//! claim columns are cleared: a dispatcher still holding the claim then
//! finds its result write conditional on `claim_id` matching nothing, and
//! cannot move the message back.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait};

use super::entity::message::{self, Column, Entity};
use super::statistics::{StatBump, bump_statistics};
use crate::domain::status::{MessageStatus, StatDelta};

/// How a receipt names its message.
#[derive(Debug, Clone, Copy)]
pub enum ReceiptFor<'a> {
    /// Our id (the client message id the instance was given).
    Id(&'a str),
    /// The instance's id of the sent message.
    WeworkId(&'a str),
}

/// What the instance says happened.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// `Sent`, `Delivered` or `Failed`.
    pub status: MessageStatus,
    pub at: DateTime<Utc>,
    /// Recorded when the message has none yet.
    pub wework_msg_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// How often a lost race (the status changed between read and write) is
/// decided again before giving up as not applied.
const RACE_TRIES: usize = 3;

/// Applies `receipt`; `None` when no such message exists, else the row as
/// it is now and whether the receipt changed it.
pub async fn apply_receipt(
    db: &DatabaseConnection,
    target: ReceiptFor<'_>,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> Result<Option<(message::Model, bool)>, DbErr> {
    let mut last = None;
    for _ in 0..RACE_TRIES {
        let txn = db.begin().await?;
        let Some(row) = find(&txn, target).await? else { return Ok(None) };
        let from = MessageStatus::parse(&row.status);
        let Some(from) = from.filter(|f| f.receipt_applies(receipt.status)) else {
            return Ok(Some((row, false)));
        };
        let next = advanced(&row, receipt, now);
        let written = Entity::update_many()
            .col_expr(Column::Status, Expr::value(next.status.clone()))
            .col_expr(Column::SendTime, Expr::value(next.send_time))
            .col_expr(Column::CallbackTime, Expr::value(next.callback_time))
            .col_expr(Column::WeworkMsgId, Expr::value(next.wework_msg_id.clone()))
            .col_expr(Column::ErrorCode, Expr::value(next.error_code.clone()))
            .col_expr(Column::ErrorMessage, Expr::value(next.error_message.clone()))
            .col_expr(Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::ClaimId, Expr::value(Option::<String>::None))
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(row.id.as_str()))
            .filter(Column::Status.eq(from.as_str()))
            .exec(&txn)
            .await?;
        if written.rows_affected == 0 {
            txn.rollback().await?;
            last = Some(row);
            continue;
        }
        let delta = StatDelta::reaching(from, receipt.status, latency_ms(&next));
        if next.direction == super::OUT {
            bump_statistics(&txn, &[StatBump::of(&next, delta)], now).await?;
        }
        txn.commit().await?;
        return Ok(Some((next, true)));
    }
    // Still racing after several tries: someone else keeps moving it; this
    // receipt is reported as not applied with the last state seen.
    Ok(last.map(|row| (row, false)))
}

async fn find<C: ConnectionTrait>(db: &C, target: ReceiptFor<'_>) -> Result<Option<message::Model>, DbErr> {
    match target {
        ReceiptFor::Id(id) => super::find_message(db, id, None).await,
        ReceiptFor::WeworkId(w) => super::find_outgoing_by_wework_id(db, w).await,
    }
}

/// The row after `receipt`: send time set when it first counts as sent,
/// the instance's id kept if already known, error fields on failure only.
fn advanced(row: &message::Model, receipt: &Receipt, now: DateTime<Utc>) -> message::Model {
    let mut next = row.clone();
    next.status = receipt.status.as_str().to_owned();
    next.callback_time = Some(receipt.at);
    if next.wework_msg_id.is_none() {
        next.wework_msg_id.clone_from(&receipt.wework_msg_id);
    }
    match receipt.status {
        MessageStatus::Failed => {
            next.error_code.clone_from(&receipt.error_code);
            next.error_message.clone_from(&receipt.error_message);
        }
        _ => {
            next.send_time = next.send_time.or(Some(receipt.at));
        }
    }
    next.next_attempt_at = None;
    next.claim_id = None;
    next.claimed_by = None;
    next.lease_until = None;
    next.updated_at = now;
    next
}

/// Accepted → sent in milliseconds: from the later of creation and the
/// scheduled time to the send time (`None` if not sent).
fn latency_ms(row: &message::Model) -> Option<i64> {
    let sent = row.send_time?;
    let accepted = row.scheduled_time.map_or(row.created_at, |s| s.max(row.created_at));
    Some((sent - accepted).num_milliseconds().max(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(status: &str) -> message::Model {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        message::Model {
            id: "m".into(),
            tenant_id: "t".into(),
            account_id: "a".into(),
            conversation_id: "c".into(),
            chat_type: "private".into(),
            direction: "out".into(),
            message_type: "text".into(),
            content: "{}".into(),
            at_list: None,
            template_id: None,
            status: status.into(),
            wework_msg_id: None,
            send_time: None,
            callback_time: None,
            error_code: None,
            error_message: None,
            retry_count: 0,
            batch_id: None,
            receiver_id: None,
            priority: 5,
            scheduled_time: None,
            next_attempt_at: Some(t),
            idempotency_key: None,
            claim_id: Some("c1".into()),
            claimed_by: Some("w".into()),
            lease_until: Some(t),
            sender_id: None,
            sender_name: None,
            created_at: t,
            updated_at: t,
            traceparent: None,
        }
    }

    fn receipt(status: MessageStatus, secs: i64) -> Receipt {
        Receipt {
            status,
            at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            wework_msg_id: Some("w-1".into()),
            error_code: Some("account_restricted".into()),
            error_message: Some("restricted".into()),
        }
    }

    #[test]
    fn a_delivery_sets_send_time_and_clears_the_claim() {
        let now = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let next = advanced(&row("sending"), &receipt(MessageStatus::Delivered, 3), now);
        assert_eq!(next.status, "delivered");
        assert_eq!(next.send_time, Some(receipt(MessageStatus::Delivered, 3).at));
        assert_eq!(next.wework_msg_id.as_deref(), Some("w-1"));
        assert_eq!((next.claim_id, next.next_attempt_at, next.error_code), (None, None, None));
        assert_eq!(latency_ms(&advanced(&row("sending"), &receipt(MessageStatus::Sent, 3), now)), Some(3_000));
    }

    #[test]
    fn known_ids_and_send_times_are_kept() {
        let mut r = row("sent");
        r.wework_msg_id = Some("orig".into());
        r.send_time = Some(r.created_at);
        let next = advanced(&r, &receipt(MessageStatus::Delivered, 9), r.created_at);
        assert_eq!(next.wework_msg_id.as_deref(), Some("orig"));
        assert_eq!(next.send_time, Some(r.created_at));
    }

    #[test]
    fn a_failure_records_the_error_and_no_send_time() {
        let next = advanced(&row("sending"), &receipt(MessageStatus::Failed, 1), row("x").created_at);
        assert_eq!(next.error_code.as_deref(), Some("account_restricted"));
        assert_eq!(next.send_time, None);
        assert_eq!(latency_ms(&next), None);
    }

    #[test]
    fn latency_counts_from_the_scheduled_time() {
        let mut r = row("sending");
        r.scheduled_time = Some(r.created_at + chrono::Duration::seconds(60));
        r.send_time = Some(r.created_at + chrono::Duration::seconds(61));
        assert_eq!(latency_ms(&r), Some(1_000));
        r.send_time = Some(r.created_at);
        assert_eq!(latency_ms(&r), Some(0));
    }
}
