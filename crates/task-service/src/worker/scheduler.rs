//! The cron scheduler, in every replica: every `scheduler_tick_ms` it loads
//! the due schedules and runs at most one slot of each (the latest due one,
//! per the schedule's missed-slot policy), then moves the schedule to its
//! next slot.
//!
//! Contract: however many replicas tick at once, a slot creates one task —
//! [`store::fire_slot`] claims the (schedule, slot) tick and advances the
//! schedule only if it is still as read, all in one transaction, and the
//! task's key `<schedule id>:<slot>` makes even a replay idempotent. Time is
//! `state.clock`, so tests drive [`tick`] with a manual clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use wework_kit::shutdown::Shutdown;

use crate::domain::cron::{CronSchedule, MissedSlotPolicy, due_slot};
use crate::state::AppState;
use crate::store::{self, TaskTemplate, entity::schedule};

/// Schedules handled per pass; a full batch is followed by another pass at once.
const BATCH: u64 = 100;

/// Starts the scheduler loop under `shutdown`.
pub fn spawn(state: &AppState, shutdown: &Shutdown) {
    shutdown.spawn_worker("task-scheduler", run(state.clone(), shutdown.clone()));
}

async fn run(state: AppState, shutdown: Shutdown) {
    let every = Duration::from_millis(state.settings.worker.scheduler_tick_ms);
    loop {
        let full = match pass(&state).await {
            // Another pass at once only while a full batch all went through,
            // so a database in trouble is not hammered.
            Ok(p) => p.seen == BATCH as usize && p.failed == 0,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "scheduler pass failed");
                false
            }
        };
        if shutdown.is_triggered() {
            break;
        }
        if full {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => break,
        }
    }
}

/// One pass over the due schedules at `state.clock.now()`; returns how many
/// tasks this replica created.
pub async fn tick(state: &AppState) -> anyhow::Result<usize> {
    Ok(pass(state).await?.created)
}

struct Pass {
    seen: usize,
    created: usize,
    failed: usize,
}

async fn pass(state: &AppState) -> anyhow::Result<Pass> {
    let now = state.clock.now();
    let grace = Duration::from_secs(state.settings.worker.missed_slot_grace_secs);
    let db = state.db.writer();
    let due = store::due_schedules(db, now, BATCH).await?;
    let (mut created, mut failed) = (0, 0);
    for s in &due {
        match run_schedule(state, s, now, grace).await {
            Ok(true) => created += 1,
            Ok(false) => {}
            // One broken schedule must not hold up the others.
            Err(e) => {
                failed += 1;
                tracing::warn!(schedule = %s.id, error = format!("{e:#}"), "schedule run failed");
            }
        }
    }
    if created > 0 {
        state.wake.notify_one();
        metrics::counter!("task_schedule_runs_total").increment(created as u64);
    }
    Ok(Pass { seen: due.len(), created, failed })
}

/// What one poll of a due schedule does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Create the run of `slot`, then wait for `next_run_at`.
    Fire { slot: DateTime<Utc>, next_run_at: Option<DateTime<Utc>> },
    /// Nothing to run (a slot too late for `skip`): just move on.
    Advance { next_run_at: Option<DateTime<Utc>> },
    /// Not due (yet): leave it.
    Wait,
}

/// Decides a poll at `now`. A stored cron that no longer parses parks the
/// schedule (`next_run_at` empty) instead of failing every tick.
fn plan(s: &schedule::Model, now: DateTime<Utc>, grace: Duration) -> Plan {
    let Some(due_at) = s.next_run_at else {
        return Plan::Wait;
    };
    let cron = match CronSchedule::parse(&s.cron, &s.time_zone) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(schedule = %s.id, error = %e, "stored cron does not parse; schedule parked");
            return Plan::Advance { next_run_at: None };
        }
    };
    let policy = MissedSlotPolicy::from_stored(&s.missed_slot_policy).unwrap_or_default();
    let decision = due_slot(&cron, due_at, now, policy, grace);
    match decision.run {
        Some(slot) => Plan::Fire { slot, next_run_at: decision.next_run_at },
        None if decision.next_run_at == Some(due_at) => Plan::Wait,
        None => Plan::Advance { next_run_at: decision.next_run_at },
    }
}

/// True when this call created the slot's task.
async fn run_schedule(
    state: &AppState,
    s: &schedule::Model,
    now: DateTime<Utc>,
    grace: Duration,
) -> anyhow::Result<bool> {
    let db = state.db.writer();
    match plan(s, now, grace) {
        Plan::Wait => Ok(false),
        Plan::Advance { next_run_at } => {
            if let Some(missed) = s.next_run_at {
                tracing::info!(schedule = %s.id, %missed, "missed slot skipped");
            }
            store::advance_schedule(db, s, next_run_at).await?;
            Ok(false)
        }
        Plan::Fire { slot, next_run_at } => {
            // A disabled business system creates no tasks, cron runs included;
            // its slots pass unrun (resuming the system does not replay them).
            let active = state.business_by_id(&s.business_id).await.ok().flatten().map(|b| b.status);
            if active.as_deref() != Some(crate::store::status::ACTIVE) {
                tracing::info!(schedule = %s.id, %slot, "business system disabled; slot skipped");
                store::advance_schedule(db, s, next_run_at).await?;
                return Ok(false);
            }
            let template = TaskTemplate::from_stored(&s.template)?;
            let key = crate::domain::validate::BusinessUniqueId::for_slot(&s.id, slot);
            let task = template.to_task(s, key.into_inner(), slot);
            let fired = store::fire_slot(db, s, slot, task, next_run_at, now).await?;
            if let Some(task_id) = &fired {
                tracing::debug!(schedule = %s.id, %slot, task = %task_id, "schedule slot fired");
            }
            Ok(fired.is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("test timestamp").with_timezone(&Utc)
    }

    fn hourly(policy: &str, next_run_at: Option<DateTime<Utc>>) -> schedule::Model {
        let t = at("2030-01-01T00:00:00Z");
        schedule::Model {
            id: "s1".into(),
            business_id: "b".into(),
            tenant_id: None,
            owner: String::new(),
            name: "hourly".into(),
            cron: "0 * * * *".into(),
            time_zone: "UTC".into(),
            template: String::new(),
            active: true,
            missed_slot_policy: policy.into(),
            last_run_at: None,
            next_run_at,
            created_at: t,
            updated_at: t,
        }
    }

    const GRACE: Duration = Duration::from_secs(60);

    #[test]
    fn a_due_slot_fires_and_moves_to_the_next() {
        let s = hourly("run_once", Some(at("2030-01-01T01:00:00Z")));
        assert_eq!(
            plan(&s, at("2030-01-01T01:00:05Z"), GRACE),
            Plan::Fire { slot: at("2030-01-01T01:00:00Z"), next_run_at: Some(at("2030-01-01T02:00:00Z")) }
        );
        assert_eq!(plan(&s, at("2030-01-01T00:59:59Z"), GRACE), Plan::Wait);
        assert_eq!(plan(&hourly("run_once", None), at("2030-01-01T05:00:00Z"), GRACE), Plan::Wait);
    }

    #[test]
    fn after_downtime_run_once_fires_the_latest_slot_once() {
        let s = hourly("run_once", Some(at("2030-01-01T01:00:00Z")));
        assert_eq!(
            plan(&s, at("2030-01-01T04:30:00Z"), GRACE),
            Plan::Fire { slot: at("2030-01-01T04:00:00Z"), next_run_at: Some(at("2030-01-01T05:00:00Z")) }
        );
    }

    #[test]
    fn skip_drops_a_slot_past_the_grace() {
        let s = hourly("skip", Some(at("2030-01-01T01:00:00Z")));
        assert_eq!(
            plan(&s, at("2030-01-01T04:30:00Z"), GRACE),
            Plan::Advance { next_run_at: Some(at("2030-01-01T05:00:00Z")) }
        );
        assert_eq!(
            plan(&s, at("2030-01-01T04:01:00Z"), GRACE),
            Plan::Fire { slot: at("2030-01-01T04:00:00Z"), next_run_at: Some(at("2030-01-01T05:00:00Z")) }
        );
    }

    #[test]
    fn an_unparsable_stored_cron_parks_the_schedule() {
        let mut s = hourly("run_once", Some(at("2030-01-01T01:00:00Z")));
        s.cron = "not a cron".into();
        assert_eq!(plan(&s, at("2030-01-01T02:00:00Z"), GRACE), Plan::Advance { next_run_at: None });
    }
}
