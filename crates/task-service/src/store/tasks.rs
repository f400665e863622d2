//! Tasks: idempotent creation, scoped reads and lists, cancel and manual
//! retry. Claiming and result writes live in `claims`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::task::{self, ActiveModel, Column, Entity};
use super::{Cursor, Scope, status, to_json};

/// A task ready to insert: validated and resolved by the caller.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub business_id: String,
    pub business_unique_id: String,
    pub tenant_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub schedule_id: Option<String>,
    pub callback_url: Option<String>,
    pub callback_method: Option<String>,
    pub headers: Option<Vec<(String, String)>>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub tags: Vec<String>,
    pub priority: u8,
    pub scheduled_at: DateTime<Utc>,
    pub retry_intervals: Vec<u32>,
    pub max_retries: u32,
    pub timeout_ms: u32,
    /// The creating request's trace context (see `wework_kit::telemetry::current_traceparent`).
    pub traceparent: Option<String>,
}

fn to_row(id: String, t: NewTask, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        id: Set(id),
        business_id: Set(t.business_id),
        business_unique_id: Set(t.business_unique_id),
        tenant_id: Set(t.tenant_id),
        endpoint_id: Set(t.endpoint_id),
        schedule_id: Set(t.schedule_id),
        callback_url: Set(t.callback_url),
        callback_method: Set(t.callback_method),
        headers: Set(t.headers.map(|h| to_json(&h))),
        content_type: Set(t.content_type),
        body: Set(t.body),
        tags: Set(to_json(&t.tags)),
        priority: Set(i16::from(t.priority)),
        scheduled_at: Set(t.scheduled_at),
        next_execute_at: Set(t.scheduled_at),
        retry_intervals: Set(to_json(&t.retry_intervals)),
        max_retries: Set(i32::try_from(t.max_retries).unwrap_or(i32::MAX)),
        timeout_ms: Set(i32::try_from(t.timeout_ms).unwrap_or(i32::MAX)),
        attempts: Set(0),
        attempts_base: Set(0),
        status: Set(status::PENDING.to_owned()),
        last_error: Set(None),
        claim_id: Set(None),
        claimed_by: Set(None),
        lease_until: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        traceparent: Set(t.traceparent),
    }
}

/// Inserts the tasks that are new and finds the ones whose
/// (business, business_unique_id) already exists, in input order. Two
/// statements whatever the batch size; `bool` = created by this call.
/// All tasks must belong to one business system.
pub async fn create_tasks<C: ConnectionTrait>(
    db: &C,
    tasks: Vec<NewTask>,
    now: DateTime<Utc>,
) -> Result<Vec<(task::Model, bool)>, DbErr> {
    let Some(first) = tasks.first() else {
        return Ok(Vec::new());
    };
    let business_id = first.business_id.clone();
    // Our id per input position: a key repeated within one batch is created
    // by its first occurrence and found by the later ones.
    let mut ours = Vec::with_capacity(tasks.len());
    let mut keys = Vec::with_capacity(tasks.len());
    let mut rows = Vec::with_capacity(tasks.len());
    for t in tasks {
        let id = super::new_id();
        ours.push(id.clone());
        keys.push(t.business_unique_id.clone());
        rows.push(to_row(id, t, now));
    }
    Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::BusinessId, Column::BusinessUniqueId]).do_nothing_on([Column::Id]).to_owned(),
        )
        .try_insert()
        .exec(db)
        .await?;
    let mut found: HashMap<String, task::Model> = HashMap::with_capacity(keys.len());
    let mut distinct: Vec<String> = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    for chunk in distinct.chunks(500) {
        let rows = Entity::find()
            .filter(Column::BusinessId.eq(business_id.as_str()))
            .filter(Column::BusinessUniqueId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|r| (r.business_unique_id.clone(), r)));
    }
    let mut out = Vec::with_capacity(keys.len());
    for (key, id) in keys.into_iter().zip(ours) {
        let row = found.get(&key).cloned().ok_or_else(|| DbErr::RecordNotFound(format!("task {key}")))?;
        let created = id == row.id;
        out.push((row, created));
    }
    Ok(out)
}

pub async fn find_task<C: ConnectionTrait>(db: &C, id: &str, scope: &Scope) -> Result<Option<task::Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).filter(scope.condition(Column::BusinessId, Column::TenantId)).one(db).await
}

/// Filters of `ListTasks`; all optional.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub status: Option<&'static str>,
    pub tag: Option<String>,
    pub business_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

pub async fn list_tasks<C: ConnectionTrait>(
    db: &C,
    scope: &Scope,
    filter: &TaskFilter,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<task::Model>, Option<Cursor>), DbErr> {
    let mut select = Entity::find().filter(scope.condition(Column::BusinessId, Column::TenantId));
    if let Some(s) = filter.status {
        select = select.filter(Column::Status.eq(s));
    }
    if let Some(tag) = &filter.tag {
        // Tags are a JSON array of [A-Za-z0-9_.:-] strings, so the quoted
        // form matches exactly one element and never a substring.
        select = select.filter(Column::Tags.contains(format!("\"{tag}\"")));
    }
    if let Some(b) = &filter.business_id {
        select = select.filter(Column::BusinessId.eq(b.as_str()));
    }
    if let Some(e) = &filter.endpoint_id {
        select = select.filter(Column::EndpointId.eq(e.as_str()));
    }
    if let Some(t) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(t));
    }
    if let Some(t) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(t));
    }
    wework_kit::pagination::keyset_page(db, select, Column::CreatedAt, Column::Id, cursor, limit, |m| Cursor {
        created_at: m.created_at,
        id: m.id.clone(),
    })
    .await
}

/// Cancels a pending task; false when it was not pending (any more).
pub async fn cancel_task<C: ConnectionTrait>(
    db: &C,
    id: &str,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status::CANCELLED))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(status::PENDING))
        .filter(scope.condition(Column::BusinessId, Column::TenantId))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Makes a failed or pending task due now. A failed task gets a fresh retry
/// budget and schedule (its attempts so far stay in the history); false when
/// the task is neither failed nor pending.
pub async fn retry_task_now<C: ConnectionTrait>(
    db: &C,
    id: &str,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status::PENDING))
        .col_expr(Column::NextExecuteAt, Expr::value(now))
        .col_expr(Column::AttemptsBase, Expr::col(Column::Attempts))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(status::FAILED))
        .filter(scope.condition(Column::BusinessId, Column::TenantId))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(true);
    }
    let done = Entity::update_many()
        .col_expr(Column::NextExecuteAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(status::PENDING))
        .filter(scope.condition(Column::BusinessId, Column::TenantId))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
