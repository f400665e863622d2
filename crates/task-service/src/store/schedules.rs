//! Cron schedules and their ticks.
//!
//! Contract: reads and writes a caller can reach are filtered by [`Scope`],
//! so another owner's schedule is not found. A schedule's task template is
//! stored resolved ([`TaskTemplate`], JSON text), so firing a slot needs no
//! lookups. [`fire_slot`] is what makes N replicas create exactly one task
//! per slot: the (schedule_id, slot) primary key of `schedule_ticks` is the
//! claim, and the schedule's advance is conditional on the `next_run_at` the
//! caller read, so a slot decided on stale data (another replica moved on, a
//! user paused or edited the schedule) changes nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait, TryIntoModel,
};
use serde::{Deserialize, Serialize};
use wework_kit::errors::{DbErrorKind, classify_db_err};

use super::entity::schedule::{self, ActiveModel, Column, Entity};
use super::entity::schedule_tick;
use super::{Cursor, NewTask, Scope, from_json_list, to_json};

/// What every run of a schedule delivers: a [`NewTask`] without the parts
/// each run decides (owner, idempotency key, due time, schedule id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTemplate {
    pub tenant_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub callback_url: Option<String>,
    pub callback_method: Option<String>,
    pub headers: Option<Vec<(String, String)>>,
    pub content_type: Option<String>,
    /// Base64 in the stored JSON: a byte array would be four times larger.
    #[serde(with = "base64_body")]
    pub body: Vec<u8>,
    pub tags: Vec<String>,
    pub priority: u8,
    pub retry_intervals: Vec<u32>,
    pub max_retries: u32,
    pub timeout_ms: u32,
}

impl TaskTemplate {
    /// The template of `task`; its owner, key, due time and schedule are dropped.
    pub fn from_task(task: NewTask) -> Self {
        Self {
            tenant_id: task.tenant_id,
            endpoint_id: task.endpoint_id,
            callback_url: task.callback_url,
            callback_method: task.callback_method,
            headers: task.headers,
            content_type: task.content_type,
            body: task.body,
            tags: task.tags,
            priority: task.priority,
            retry_intervals: task.retry_intervals,
            max_retries: task.max_retries,
            timeout_ms: task.timeout_ms,
        }
    }

    /// Reads a stored template.
    pub fn from_stored(text: &str) -> Result<Self, DbErr> {
        from_json_list(text)
    }

    pub fn to_stored(&self) -> String {
        to_json(self)
    }

    /// One run of `schedule`, due at `scheduled_at`, idempotent on `business_unique_id`.
    pub fn to_task(
        &self,
        schedule: &schedule::Model,
        business_unique_id: String,
        scheduled_at: DateTime<Utc>,
    ) -> NewTask {
        NewTask {
            business_id: schedule.business_id.clone(),
            business_unique_id,
            tenant_id: self.tenant_id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            schedule_id: Some(schedule.id.clone()),
            callback_url: self.callback_url.clone(),
            callback_method: self.callback_method.clone(),
            headers: self.headers.clone(),
            content_type: self.content_type.clone(),
            body: self.body.clone(),
            tags: self.tags.clone(),
            priority: self.priority,
            scheduled_at,
            retry_intervals: self.retry_intervals.clone(),
            max_retries: self.max_retries,
            timeout_ms: self.timeout_ms,
            // A cron run has no caller: its deliveries start their own trace.
            traceparent: None,
        }
    }
}

mod base64_body {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A validated schedule ready to insert.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub business_id: String,
    pub tenant_id: Option<String>,
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    pub template: TaskTemplate,
    pub missed_slot_policy: &'static str,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Inserts an active schedule; a taken (business, name) is a duplicate-key `DbErr`.
pub async fn insert_schedule<C: ConnectionTrait>(
    db: &C,
    new: NewSchedule,
    now: DateTime<Utc>,
) -> Result<schedule::Model, DbErr> {
    ActiveModel {
        id: Set(super::new_id()),
        business_id: Set(new.business_id),
        owner: Set(new.tenant_id.as_ref().map(|t| format!("tenant:{t}")).unwrap_or_default()),
        tenant_id: Set(new.tenant_id),
        name: Set(new.name),
        cron: Set(new.cron),
        time_zone: Set(new.time_zone),
        template: Set(new.template.to_stored()),
        active: Set(true),
        missed_slot_policy: Set(new.missed_slot_policy.to_owned()),
        last_run_at: Set(None),
        next_run_at: Set(new.next_run_at),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn find_schedule<C: ConnectionTrait>(
    db: &C,
    id: &str,
    scope: &Scope,
) -> Result<Option<schedule::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).filter(scope.condition(Column::BusinessId, Column::TenantId)).one(db).await
}

pub async fn list_schedules<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<schedule::Model>, Option<Cursor>), DbErr> {
    let select = Entity::find().filter(scope.condition(Column::BusinessId, Column::TenantId));
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |m| Cursor {
        created_at: m.created_at,
        id: m.id.clone(),
    })
    .await
}

/// Changes of `UpdateSchedule`; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ScheduleChanges {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub template: Option<TaskTemplate>,
    pub missed_slot_policy: Option<&'static str>,
    /// Set when the cron or the zone changed (the next slot moves with them).
    pub next_run_at: Option<Option<DateTime<Utc>>>,
}

/// Writes `changes` over `current` (already found within the caller's scope).
pub async fn update_schedule<C: ConnectionTrait>(
    db: &C,
    current: schedule::Model,
    changes: ScheduleChanges,
    now: DateTime<Utc>,
) -> Result<schedule::Model, DbErr> {
    let mut row: ActiveModel = current.into();
    if let Some(v) = changes.name {
        row.name = Set(v);
    }
    if let Some(v) = changes.cron {
        row.cron = Set(v);
    }
    if let Some(v) = changes.time_zone {
        row.time_zone = Set(v);
    }
    if let Some(v) = changes.template {
        row.template = Set(v.to_stored());
    }
    if let Some(v) = changes.missed_slot_policy {
        row.missed_slot_policy = Set(v.to_owned());
    }
    if let Some(v) = changes.next_run_at {
        row.next_run_at = Set(v);
    }
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}

/// Pauses or resumes. Resuming passes the first slot after now, so slots
/// missed while paused do not run.
pub async fn set_schedule_active<C: ConnectionTrait>(
    db: &C,
    current: schedule::Model,
    active: bool,
    next_run_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<schedule::Model, DbErr> {
    let mut row: ActiveModel = current.into();
    row.active = Set(active);
    row.next_run_at = Set(next_run_at);
    row.updated_at = Set(now);
    row.save(db).await?.try_into_model()
}

/// Deletes a schedule in scope and its ticks; false when there was none.
/// Tasks it created stay (they are history, and may still be running).
pub async fn delete_schedule<C: ConnectionTrait>(db: &C, id: &str, scope: &Scope) -> Result<bool, DbErr> {
    let done = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(scope.condition(Column::BusinessId, Column::TenantId))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Ok(false);
    }
    schedule_tick::Entity::delete_many().filter(schedule_tick::Column::ScheduleId.eq(id)).exec(db).await?;
    Ok(true)
}

/// Active schedules whose next slot has come, oldest first (all owners: the
/// scheduler's view).
pub async fn due_schedules<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<schedule::Model>, DbErr> {
    Entity::find()
        .filter(Column::Active.eq(true))
        .filter(Column::NextRunAt.lte(now))
        .order_by_asc(Column::NextRunAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Moves a due schedule to `next_run_at` without running it (a skipped
/// slot); false when it changed since `schedule` was read.
pub async fn advance_schedule<C: ConnectionTrait>(
    db: &C,
    schedule: &schedule::Model,
    next_run_at: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let done = Entity::update_many()
        .col_expr(Column::NextRunAt, Expr::value(next_run_at))
        .filter(unchanged(schedule))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Runs `slot` of `schedule`: claims the tick, creates `task` (carrying the
/// slot's key, `BusinessUniqueId::for_slot`) and advances the schedule, in one
/// transaction. `None` when the slot was already fired (by another replica) or the
/// schedule changed since it was read; then nothing is written.
pub async fn fire_slot<C: TransactionTrait>(
    db: &C,
    schedule: &schedule::Model,
    slot: DateTime<Utc>,
    task: NewTask,
    next_run_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let txn = db.begin().await?;
    // The tick goes first: on MySQL a concurrent claim of the same slot waits
    // on its key and then fails as a duplicate; on SQLite writers queue.
    let tick = schedule_tick::ActiveModel {
        schedule_id: Set(schedule.id.clone()),
        slot: Set(slot),
        task_id: Set(String::new()),
        created_at: Set(now),
    };
    match schedule_tick::Entity::insert(tick).exec_without_returning(&txn).await {
        Ok(_) => {}
        Err(e) if classify_db_err(&e) == DbErrorKind::Duplicate => {
            txn.rollback().await?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    let created = super::create_tasks(&txn, vec![task], now).await?;
    let Some((row, _)) = created.into_iter().next() else {
        return Err(DbErr::RecordNotInserted);
    };
    schedule_tick::Entity::update_many()
        .col_expr(schedule_tick::Column::TaskId, Expr::value(row.id.as_str()))
        .filter(schedule_tick::Column::ScheduleId.eq(schedule.id.as_str()))
        .filter(schedule_tick::Column::Slot.eq(slot))
        .exec(&txn)
        .await?;
    let advanced = Entity::update_many()
        .col_expr(Column::LastRunAt, Expr::value(Some(slot)))
        .col_expr(Column::NextRunAt, Expr::value(next_run_at))
        .filter(unchanged(schedule))
        .exec(&txn)
        .await?;
    if advanced.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    txn.commit().await?;
    Ok(Some(row.id))
}

/// The schedule row as the scheduler read it: still active and still due at
/// the same slot.
fn unchanged(schedule: &schedule::Model) -> sea_orm::sea_query::Condition {
    let due = match schedule.next_run_at {
        Some(t) => Column::NextRunAt.eq(t),
        None => Column::NextRunAt.is_null(),
    };
    sea_orm::sea_query::Condition::all().add(Column::Id.eq(schedule.id.as_str())).add(Column::Active.eq(true)).add(due)
}

#[cfg(test)]
#[path = "schedules_tests.rs"]
mod tests;
