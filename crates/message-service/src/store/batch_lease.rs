//! The lease one replica holds on a batch while it expands or feeds it
//! (`kit::lease` on `batch_send_tasks`), and the expansion writes made
//! under it: each directory page's receivers land in the transaction that
//! moves the batch's cursor, and only while the claim still holds.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait};
use wework_kit::lease::{self, Claim, LeaseSpec};

use super::batches::find_batch;
use super::entity::batch::{Column, Entity};
use super::receivers::{self, NewReceiver};

/// A batch needs a replica while it is running (feeding) or its directory
/// targets are not expanded yet. Expired leases are claimable again, so a
/// crashed replica's batch is picked up without a separate reclaim pass.
pub const BATCH_LEASE: LeaseSpec = LeaseSpec {
    table: "batch_send_tasks",
    claimable: "(status = 'running' OR (expansion_done = ? AND status IN ('created', 'running', 'paused'))) \
                AND (lease_until IS NULL OR lease_until < ?)",
    order_by: "created_at ASC, id ASC",
    on_claim: "updated_at = updated_at",
    held: "claim_id IS NOT NULL",
    on_expiry: "updated_at = updated_at",
};

/// Claims up to `limit` batches that need a replica (see [`BATCH_LEASE`]).
pub async fn claim_batches(
    db: &DatabaseConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Claim, DbErr> {
    lease::claim(db, &BATCH_LEASE, vec![false.into(), now.into()], worker, lease_until, limit).await
}

/// Gives a claimed batch back (only if the claim is still ours).
pub async fn release_batch<C: ConnectionTrait>(db: &C, id: &str, claim_id: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(Column::Id.eq(id))
        .filter(Column::ClaimId.eq(claim_id))
        .exec(db)
        .await?;
    Ok(())
}

/// One expanded chunk of a directory target, in one transaction with the
/// batch's cursor: receivers the batch lacks are added after its last
/// `seq`, then `expand_cursor`, the counts and `expansion_done` move on —
/// all only while `claim_id` still holds the batch (which also extends the
/// lease). `None` when the claim was lost (nothing written).
pub async fn append_expanded(
    db: &DatabaseConnection,
    batch_id: &str,
    claim_id: &str,
    chunk: &[NewReceiver],
    next_cursor: Option<&str>,
    lease_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<u64>, DbErr> {
    let txn = db.begin().await?;
    let held = Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .filter(Column::Id.eq(batch_id))
        .filter(Column::ClaimId.eq(claim_id))
        .exec(&txn)
        .await?;
    let Some(batch) = find_batch(&txn, batch_id, None).await?.filter(|_| held.rows_affected == 1) else {
        txn.rollback().await?;
        return Ok(None);
    };
    let keys: Vec<String> = chunk.iter().map(|r| r.conversation_id.clone()).collect();
    let existing = receivers::existing_keys(&txn, batch_id, &keys).await?;
    let mut seen = HashSet::new();
    let fresh: Vec<NewReceiver> = chunk
        .iter()
        .filter(|r| !existing.contains(&r.conversation_id) && seen.insert(r.conversation_id.as_str()))
        .cloned()
        .collect();
    let added =
        receivers::insert_receivers(&txn, &batch.tenant_id, batch_id, batch.expanded_count, &fresh, now).await?;
    let n = i64::try_from(added).unwrap_or(i64::MAX);
    Entity::update_many()
        .col_expr(Column::ExpandedCount, Expr::col(Column::ExpandedCount).add(n))
        .col_expr(Column::TotalCount, Expr::col(Column::TotalCount).add(n))
        .col_expr(Column::ExpandCursor, Expr::value(next_cursor.map(str::to_owned)))
        .col_expr(Column::ExpansionDone, Expr::value(next_cursor.is_none()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(batch_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(added))
}
