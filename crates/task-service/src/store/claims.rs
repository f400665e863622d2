//! The worker's side of the tasks table: claim due tasks with a lease, renew
//! and reclaim leases, write attempt results. Every write after the claim is
//! conditional on the claim id (`WHERE id = ? AND claim_id = ?`): a worker
//! whose lease expired and was taken over changes nothing, and its execution
//! row is not written either.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use wework_kit::lease::{self, LeaseSpec};

use super::entity::{execution, task};
use super::status;

/// How tasks are leased (see `wework_kit::lease`). A claim counts an attempt.
pub const TASK_LEASE: LeaseSpec = LeaseSpec {
    table: "tasks",
    claimable: "status = 'pending' AND next_execute_at <= ?",
    order_by: "priority DESC, next_execute_at ASC",
    on_claim: "status = 'running', attempts = attempts + 1",
    held: "status = 'running'",
    on_expiry: "status = 'pending'",
};

/// Claims up to `limit` due tasks, highest priority first, then oldest due.
pub async fn claim_due_tasks(
    db: &DatabaseConnection,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<(String, Vec<task::Model>), DbErr> {
    let claim = lease::claim(db, &TASK_LEASE, vec![now.into()], worker, lease_until, limit).await?;
    if claim.ids.is_empty() {
        return Ok((claim.claim_id, Vec::new()));
    }
    let rows = task::Entity::find()
        .filter(task::Column::Id.is_in(claim.ids.iter().cloned()))
        .filter(task::Column::ClaimId.eq(claim.claim_id.as_str()))
        .all(db)
        .await?;
    Ok((claim.claim_id, rows))
}

pub async fn renew_task_leases<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[String],
    lease_until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    lease::renew(db, &TASK_LEASE, claim_ids, lease_until).await
}

pub async fn reclaim_expired_tasks<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    lease::reclaim_expired(db, &TASK_LEASE, now).await
}

/// What happens to a task after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// One finished attempt, to be written if the claim still holds.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub task_id: String,
    pub claim_id: String,
    pub business_id: String,
    pub tenant_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub sequence: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u32,
    pub http_status: Option<u16>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub response_truncated: bool,
    pub error: Option<String>,
    pub next: NextStep,
}

/// Writes a batch of attempt results in one transaction. Returns the records
/// that were applied (their claim still held); the others were taken over.
///
/// Successes — the common case — are written set-wise: per claim, one
/// `SELECT … FOR UPDATE` of the rows still held and one `UPDATE`; failures
/// carry their own error and retry time, so they are one `UPDATE` each.
/// Execution rows are inserted in bulk for the applied records only.
pub async fn record_attempts(
    db: &DatabaseConnection,
    records: Vec<AttemptRecord>,
    now: DateTime<Utc>,
) -> Result<Vec<AttemptRecord>, DbErr> {
    let txn = db.begin().await?;
    let (successes, others): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.next == NextStep::Succeeded);
    let mut applied = record_successes(&txn, successes, now).await?;
    for r in others {
        let (state, next_at) = match &r.next {
            NextStep::RetryAt(at) => (status::PENDING, Some(*at)),
            _ => (status::FAILED, None),
        };
        let finished = next_at.is_none().then_some(now);
        let mut update = task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value(state))
            .col_expr(task::Column::LastError, Expr::value(r.error.clone()))
            .col_expr(task::Column::FinishedAt, Expr::value(finished))
            .col_expr(task::Column::ClaimId, Expr::value(Option::<String>::None))
            .col_expr(task::Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(task::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(task::Column::UpdatedAt, Expr::value(now));
        if let Some(at) = next_at {
            update = update.col_expr(task::Column::NextExecuteAt, Expr::value(at));
        }
        let done = update
            .filter(task::Column::Id.eq(r.task_id.as_str()))
            .filter(task::Column::ClaimId.eq(r.claim_id.as_str()))
            .exec(&txn)
            .await?;
        if done.rows_affected == 1 {
            applied.push(r);
        } else {
            tracing::warn!(task_id = %r.task_id, "lease lost before the result was written; result dropped");
        }
    }
    let executions: Vec<execution::ActiveModel> = applied.iter().map(execution_row).collect();
    for chunk in executions.chunks(200) {
        execution::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(applied)
}

/// Marks succeeded tasks done, per claim: only rows that still carry the
/// claim id are touched (and returned).
async fn record_successes<C: ConnectionTrait>(
    txn: &C,
    records: Vec<AttemptRecord>,
    now: DateTime<Utc>,
) -> Result<Vec<AttemptRecord>, DbErr> {
    let mut by_claim: std::collections::HashMap<String, Vec<AttemptRecord>> = std::collections::HashMap::new();
    for r in records {
        by_claim.entry(r.claim_id.clone()).or_default().push(r);
    }
    let mut applied = Vec::new();
    for (claim_id, group) in by_claim {
        let ids: Vec<String> = group.iter().map(|r| r.task_id.clone()).collect();
        let held: std::collections::HashSet<String> = task::Entity::find()
            .select_only()
            .column(task::Column::Id)
            .filter(task::Column::ClaimId.eq(claim_id.as_str()))
            .filter(task::Column::Id.is_in(ids.iter().cloned()))
            .lock_exclusive()
            .into_tuple::<String>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        if held.is_empty() {
            tracing::warn!(tasks = ids.len(), "leases lost before the results were written; results dropped");
            continue;
        }
        task::Entity::update_many()
            .col_expr(task::Column::Status, Expr::value(status::SUCCEEDED))
            .col_expr(task::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(task::Column::FinishedAt, Expr::value(now))
            .col_expr(task::Column::ClaimId, Expr::value(Option::<String>::None))
            .col_expr(task::Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(task::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(task::Column::UpdatedAt, Expr::value(now))
            .filter(task::Column::ClaimId.eq(claim_id.as_str()))
            .filter(task::Column::Id.is_in(held.iter().cloned()))
            .exec(txn)
            .await?;
        for r in group {
            if held.contains(&r.task_id) {
                applied.push(r);
            } else {
                tracing::warn!(task_id = %r.task_id, "lease lost before the result was written; result dropped");
            }
        }
    }
    Ok(applied)
}

fn execution_row(r: &AttemptRecord) -> execution::ActiveModel {
    let retry_after = match r.next {
        NextStep::RetryAt(at) => Some(at),
        _ => None,
    };
    execution::ActiveModel {
        id: Set(super::new_id()),
        task_id: Set(r.task_id.clone()),
        business_id: Set(r.business_id.clone()),
        tenant_id: Set(r.tenant_id.clone()),
        execution_sequence: Set(r.sequence),
        claim_id: Set(r.claim_id.clone()),
        started_at: Set(r.started_at),
        duration_ms: Set(i32::try_from(r.duration_ms).unwrap_or(i32::MAX)),
        http_status: Set(r.http_status.map(i32::from)),
        response_headers: Set(r.response_headers.clone()),
        response_body: Set(r.response_body.clone()),
        response_truncated: Set(r.response_truncated),
        error_message: Set(r.error.clone()),
        retry_after: Set(retry_after),
        success: Set(r.next == NextStep::Succeeded),
    }
}

/// Puts claimed tasks back without counting an attempt (rate limited,
/// shutting down): due again at `at`.
pub async fn defer_tasks<C: ConnectionTrait>(
    db: &C,
    claim_id: &str,
    task_ids: &[String],
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if task_ids.is_empty() {
        return Ok(0);
    }
    let done = task::Entity::update_many()
        .col_expr(task::Column::Status, Expr::value(status::PENDING))
        .col_expr(task::Column::NextExecuteAt, Expr::value(at))
        .col_expr(task::Column::Attempts, Expr::col(task::Column::Attempts).sub(1))
        .col_expr(task::Column::ClaimId, Expr::value(Option::<String>::None))
        .col_expr(task::Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(task::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(task::Column::ClaimId.eq(claim_id))
        .filter(task::Column::Id.is_in(task_ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
