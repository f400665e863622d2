//! Counts for `GetStats`: events per notify type and status in a window,
//! the waiting backlog and its oldest event, and receive → processed
//! latencies of the most recent processed events; and the due backlog the
//! processor's queue gauges sample.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use wework_kit::telemetry::queue::{QueueSample, due_sample};

use super::entity::event::{Column, Entity};
use crate::domain::status::EventStatus;

/// Processed events whose latency is sampled, newest first.
const LATENCY_SAMPLE: u64 = 10_000;

#[derive(Debug, Clone, Default)]
pub struct EventStats {
    /// (notify_type, event_type, status, count).
    pub rows: Vec<(i32, String, String, i64)>,
    pub backlog: i64,
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// Receive → processed, milliseconds, ascending.
    pub latencies_ms: Vec<f64>,
}

pub async fn event_stats<C: ConnectionTrait>(
    db: &C,
    tenant: Option<&str>,
    since: DateTime<Utc>,
) -> Result<EventStats, DbErr> {
    let scoped = |mut q: sea_orm::Select<Entity>| {
        if let Some(t) = tenant {
            q = q.filter(Column::TenantId.eq(t));
        }
        q
    };
    let rows: Vec<(i32, String, String, i64)> = scoped(Entity::find())
        .filter(Column::ReceivedTime.gte(since))
        .select_only()
        .column(Column::NotifyType)
        .column(Column::EventType)
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "n")
        .group_by(Column::NotifyType)
        .group_by(Column::EventType)
        .group_by(Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let waiting = [EventStatus::Received.as_str(), EventStatus::Processing.as_str()];
    let backlog: Option<(i64, Option<DateTime<Utc>>)> = scoped(Entity::find())
        .filter(Column::Status.is_in(waiting))
        .select_only()
        .column_as(Expr::col(Column::Id).count(), "n")
        .column_as(Expr::col(Column::ReceivedTime).min(), "oldest")
        .into_tuple()
        .one(db)
        .await?;
    let (backlog, oldest_waiting) = backlog.unwrap_or_default();
    let times: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = scoped(Entity::find())
        .filter(Column::Status.eq(EventStatus::Processed.as_str()))
        .filter(Column::ReceivedTime.gte(since))
        .select_only()
        .column(Column::ReceivedTime)
        .column(Column::ProcessTime)
        .order_by_desc(Column::ReceivedTime)
        .limit(LATENCY_SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    let mut latencies_ms: Vec<f64> = times
        .into_iter()
        .filter_map(|(received, processed)| {
            processed.map(|p| (p - received).num_microseconds().unwrap_or(0) as f64 / 1e3)
        })
        .collect();
    latencies_ms.sort_by(f64::total_cmp);
    Ok(EventStats { rows, backlog, oldest_waiting, latencies_ms })
}

/// Received events due at `now` (what the processor has yet to claim) and
/// the oldest due time among them, all tenants: an index-only pass over
/// `ix_callback_events_due`. An event waiting behind an earlier one of its
/// guid counts too: it waits all the same.
pub async fn due_backlog<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<QueueSample, DbErr> {
    due_sample::<Entity, _>(db, Column::Status, EventStatus::Received.as_str(), Column::NextAttemptAt, now).await
}

/// The `q`-quantile (0..=1) of ascending samples; 0 for none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
