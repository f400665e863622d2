//! Queue health for `GetTaskStats`: counts by status, attempt success rate
//! and latency percentiles over a window, and the lag of the oldest due task;
//! and the due backlog the worker's queue gauges sample.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use wework_kit::telemetry::queue::{QueueSample, due_sample};

use super::entity::{execution, task};
use super::{Scope, status};

/// Percentiles are computed over at most this many of the window's latest
/// attempts, so a stats call stays cheap on a busy queue.
pub const LATENCY_SAMPLE: u64 = 20_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskStatsRow {
    pub by_status: Vec<(String, u64)>,
    pub attempts: u64,
    pub successes: u64,
    /// Sorted ascending.
    pub durations_ms: Vec<u32>,
    pub oldest_due: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

#[derive(FromQueryResult)]
struct Duration {
    duration_ms: i32,
    success: bool,
}

pub async fn task_stats<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<TaskStatsRow, DbErr> {
    let counts = task::Entity::find()
        .select_only()
        .column(task::Column::Status)
        .column_as(task::Column::Id.count(), "n")
        .filter(scope.condition(task::Column::BusinessId, task::Column::TenantId))
        .group_by(task::Column::Status)
        .into_model::<StatusCount>()
        .all(db)
        .await?;
    let samples = execution::Entity::find()
        .select_only()
        .column(execution::Column::DurationMs)
        .column(execution::Column::Success)
        .filter(scope.condition(execution::Column::BusinessId, execution::Column::TenantId))
        .filter(execution::Column::StartedAt.gte(since))
        .order_by_desc(execution::Column::StartedAt)
        .limit(LATENCY_SAMPLE)
        .into_model::<Duration>()
        .all(db)
        .await?;
    let oldest = task::Entity::find()
        .filter(scope.condition(task::Column::BusinessId, task::Column::TenantId))
        .filter(task::Column::Status.eq(status::PENDING))
        .filter(task::Column::NextExecuteAt.lte(now))
        .order_by_asc(task::Column::NextExecuteAt)
        .one(db)
        .await?;
    let mut durations: Vec<u32> = samples.iter().map(|s| u32::try_from(s.duration_ms).unwrap_or(0)).collect();
    durations.sort_unstable();
    Ok(TaskStatsRow {
        by_status: counts.into_iter().map(|c| (c.status, u64::try_from(c.n).unwrap_or(0))).collect(),
        attempts: samples.len() as u64,
        successes: samples.iter().filter(|s| s.success).count() as u64,
        durations_ms: durations,
        oldest_due: oldest.map(|t| t.next_execute_at),
    })
}

/// Pending tasks due at `now` (what the claimer has yet to take) and the
/// oldest due time among them, all tenants: one pass over `ix_tasks_due`.
pub async fn due_backlog<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<QueueSample, DbErr> {
    due_sample::<task::Entity, _>(db, task::Column::Status, status::PENDING, task::Column::NextExecuteAt, now).await
}
