//! The processor's queries: claiming due events under a lease (status
//! events of one guid strictly in order), and writing outcomes — each
//! conditional on the claim, so a processor whose lease ran out and was
//! taken over writes nothing.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use wework_kit::lease::{self, Claim, LeaseSpec};

use super::entity::event::{self, Column, Entity};
use crate::domain::status::EventStatus;

/// Due `received` events; an ordered one only when no earlier event of its
/// order key still waits or runs (so a guid's status events apply one after
/// another, in the order received, across replicas).
pub const CLAIM: LeaseSpec = LeaseSpec {
    table: "callback_events",
    claimable: "status = 'received' AND next_attempt_at <= ? AND (order_key IS NULL OR NOT EXISTS (\
        SELECT 1 FROM callback_events p WHERE p.order_key = callback_events.order_key \
        AND p.status IN ('received', 'processing') \
        AND (p.received_time < callback_events.received_time \
             OR (p.received_time = callback_events.received_time AND p.id < callback_events.id))))",
    order_by: "next_attempt_at ASC",
    on_claim: "status = 'processing'",
    held: "status = 'processing'",
    on_expiry: "status = 'received'",
};

/// Claims up to `limit` due events for `worker`; returns the claim and the
/// claimed rows in the order received.
pub async fn claim_due(
    db: &DatabaseConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<(Claim, Vec<event::Model>), DbErr> {
    let claim = lease::claim(db, &CLAIM, vec![now.into()], worker, lease_until, limit).await?;
    if claim.ids.is_empty() {
        return Ok((claim, Vec::new()));
    }
    let rows = Entity::find()
        .filter(Column::ClaimId.eq(claim.claim_id.as_str()))
        .order_by_asc(Column::ReceivedTime)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    Ok((claim, rows))
}

/// Extends the leases of `claim_ids` still held; returns how many rows kept them.
pub async fn renew_leases<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[String],
    lease_until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    lease::renew(db, &CLAIM, claim_ids, lease_until).await
}

/// Returns events whose processor vanished to `received`.
pub async fn reclaim_expired<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    lease::reclaim_expired(db, &CLAIM, now).await
}

/// How processing one event ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: EventStatus,
    pub tenant_id: Option<String>,
    pub account_id: Option<String>,
    pub parsed_data: Option<String>,
    pub error: Option<String>,
    /// `Some` for a retry: back to `received`, due then.
    pub retry_at: Option<DateTime<Utc>>,
}

/// Writes an outcome if `claim_id` still holds the event; `false` otherwise.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    row: &event::Model,
    claim_id: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(outcome.status.as_str()))
        .col_expr(Column::Error, Expr::value(outcome.error))
        .col_expr(Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if outcome.tenant_id.is_some() {
        update = update.col_expr(Column::TenantId, Expr::value(outcome.tenant_id));
    }
    if outcome.account_id.is_some() {
        update = update.col_expr(Column::AccountId, Expr::value(outcome.account_id));
    }
    if outcome.parsed_data.is_some() {
        update = update.col_expr(Column::ParsedData, Expr::value(outcome.parsed_data));
    }
    update = match outcome.retry_at {
        Some(at) => update
            .col_expr(Column::NextAttemptAt, Expr::value(at))
            .col_expr(Column::RetryCount, Expr::col(Column::RetryCount).add(1)),
        None => update.col_expr(Column::ProcessTime, Expr::value(now)),
    };
    let done = update
        .filter(Column::Id.eq(row.id.as_str()))
        .filter(Column::ClaimId.eq(claim_id))
        .filter(Column::Status.eq(EventStatus::Processing.as_str()))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
