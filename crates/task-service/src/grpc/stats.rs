//! `TaskStatsService`: queue health, scoped like `ListTasks` (a business
//! system sees its own, a tenant its tenant's, the platform any or one
//! business system's).

use tonic::{Request, Response, Status};
use wework_proto::task::{GetTaskStatsRequest, TaskStats, task_stats_service_server::TaskStatsService};

use super::convert::{from_ts, ts};
use super::{Api, respond};
use crate::error::Error;
use crate::store::{self, Scope, status};

#[tonic::async_trait]
impl TaskStatsService for Api {
    async fn get_task_stats(&self, req: Request<GetTaskStatsRequest>) -> Result<Response<TaskStats>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:read")?;
            let r = req.get_ref();
            let mut scope = actor.scope();
            if !r.business_id.is_empty() {
                if !actor.is_platform() {
                    return Err(Error::PermissionDenied("only the platform filters by business system".to_owned()));
                }
                scope = Scope::business(&r.business_id);
            }
            let now = state.clock.now();
            let since = match r.since.as_ref() {
                None => now - chrono::Duration::hours(1),
                Some(t) => from_ts(Some(t))
                    .filter(|s| *s <= now)
                    .ok_or_else(|| crate::domain::FieldError::new("since", "must be a valid time in the past"))?,
            };
            let row = store::task_stats(state.db.reader(), &scope, since, now).await?;
            let count = |s: &str| row.by_status.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            let pct = |p: f64| -> u32 {
                if row.durations_ms.is_empty() {
                    return 0;
                }
                let idx = ((row.durations_ms.len() as f64 - 1.0) * p).round() as usize;
                row.durations_ms[idx.min(row.durations_ms.len() - 1)]
            };
            let lag = row.oldest_due.map_or(0, |t| u64::try_from((now - t).num_milliseconds()).unwrap_or(0));
            Ok(TaskStats {
                pending: count(status::PENDING),
                running: count(status::RUNNING),
                succeeded: count(status::SUCCEEDED),
                failed: count(status::FAILED),
                cancelled: count(status::CANCELLED),
                attempts: row.attempts,
                success_rate: if row.attempts == 0 { 0.0 } else { row.successes as f64 / row.attempts as f64 },
                latency_p50_ms: pct(0.50),
                latency_p95_ms: pct(0.95),
                latency_p99_ms: pct(0.99),
                queue_lag_ms: lag,
                since: ts(since),
            })
        })
        .await
    }
}
