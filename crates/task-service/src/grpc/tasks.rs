//! `TaskService`: create (idempotent per business_unique_id), batch create,
//! get, list, cancel, retry now, executions, and tenant events (`events`).
//!
//! Who owns a task: a business system creates tasks of its own; the platform
//! (service principals, super-admins) creates them as the built-in `platform`
//! system; a tenant user may create tasks only for its tenant's endpoints.
//! A task delivering to a tenant's endpoint carries that tenant's id, so the
//! tenant sees it. Cancels and manual retries are audited; creates are not
//! (they are the hot path, and a task is its own record).

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_kit::audit::RequestMeta;
use wework_proto::task::{
    BatchCreateTaskResult, BatchCreateTasksRequest, BatchCreateTasksResponse, CancelTaskRequest, CreateTaskRequest,
    CreateTaskResponse, Execution, GetTaskRequest, ListExecutionsRequest, ListExecutionsResponse, ListTasksRequest,
    ListTasksResponse, PublishEventRequest, PublishEventResponse, RetryTaskRequest, Task, task_service_server,
};

use super::context::Actor;
use super::convert::{from_ts, ts, ts_opt};
use super::{Api, page, respond};
use crate::domain::FieldError;
use crate::domain::model::{NewTaskSpec, TaskTarget};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, NewTask, TaskFilter, entity, status};

/// Most tasks per `BatchCreateTasks`.
pub const MAX_BATCH: usize = 500;

#[tonic::async_trait]
impl task_service_server::TaskService for Api {
    async fn create_task(&self, req: Request<CreateTaskRequest>) -> Result<Response<CreateTaskResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:write")?;
            let spec = req.into_inner().task.ok_or_else(|| FieldError::new("task", "is required"))?;
            let spec = NewTaskSpec::parse("task", spec, state.clock.now())?;
            let new = resolve_owner(state, &actor, spec, "task").await?;
            let (row, created) = create(state, vec![new]).await?.pop().ok_or_else(|| anyhow::anyhow!("no row"))?;
            Ok(CreateTaskResponse { task: Some(task_to_proto(&row)), created })
        })
        .await
    }

    async fn batch_create_tasks(
        &self,
        req: Request<BatchCreateTasksRequest>,
    ) -> Result<Response<BatchCreateTasksResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:write")?;
            let specs = req.into_inner().tasks;
            if specs.is_empty() || specs.len() > MAX_BATCH {
                return Err(FieldError::new("tasks", format!("must hold 1 to {MAX_BATCH} tasks")).into());
            }
            let now = state.clock.now();
            let mut results: Vec<BatchCreateTaskResult> = Vec::with_capacity(specs.len());
            let mut valid: Vec<(usize, NewTask)> = Vec::with_capacity(specs.len());
            let mut seen = std::collections::HashSet::new();
            for (i, spec) in specs.into_iter().enumerate() {
                let prefix = format!("tasks[{i}]");
                results.push(BatchCreateTaskResult::default());
                let parsed = match NewTaskSpec::parse(&prefix, spec, now) {
                    Ok(p) => p,
                    Err(e) => {
                        results[i].error = e.to_string();
                        continue;
                    }
                };
                if !seen.insert(parsed.business_unique_id.as_str().to_owned()) {
                    results[i].error = format!("{prefix}.business_unique_id: repeated within the batch");
                    continue;
                }
                match resolve_owner(state, &actor, parsed, &prefix).await {
                    Ok(new) => valid.push((i, new)),
                    Err(Error::Invalid(fields)) => {
                        results[i].error = fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                    }
                    Err(Error::NotFound(what)) => results[i].error = format!("{prefix}: {what} not found"),
                    Err(other) => return Err(other),
                }
            }
            // One business system per create_tasks call; a batch has one caller, so one business.
            let (indexes, tasks): (Vec<usize>, Vec<NewTask>) = valid.into_iter().unzip();
            let rows = create(state, tasks).await?;
            for (i, (row, created)) in indexes.into_iter().zip(rows) {
                results[i].task = Some(task_to_proto(&row));
                results[i].created = created;
            }
            Ok(BatchCreateTasksResponse { results })
        })
        .await
    }

    async fn get_task(&self, req: Request<GetTaskRequest>) -> Result<Response<Task>, Status> {
        respond(async {
            let actor = self.state.actor(&req).await?;
            actor.require("task:read")?;
            let row = find(&self.state, &actor, &req.get_ref().id).await?;
            Ok(task_to_proto(&row))
        })
        .await
    }

    async fn list_tasks(&self, req: Request<ListTasksRequest>) -> Result<Response<ListTasksResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:read")?;
            let r = req.get_ref();
            let (limit, cursor) = page(r.page.as_ref())?;
            if !r.business_id.is_empty() && !actor.is_platform() {
                return Err(Error::PermissionDenied("only the platform filters by business system".to_owned()));
            }
            let filter = TaskFilter {
                status: status_filter(r.status)?,
                tag: (!r.tag.is_empty()).then(|| r.tag.clone()),
                business_id: (!r.business_id.is_empty()).then(|| r.business_id.clone()),
                endpoint_id: (!r.endpoint_id.is_empty()).then(|| r.endpoint_id.clone()),
                created_after: from_ts(r.created_after.as_ref()),
                created_before: from_ts(r.created_before.as_ref()),
            };
            if let Some(tag) = &filter.tag
                && (tag.len() > 64 || !tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c)))
            {
                return Err(FieldError::new("tag", "must be up to 64 of [A-Za-z0-9_.:-]").into());
            }
            let (rows, next) =
                store::list_tasks(state.db.reader(), &actor.scope(), &filter, cursor.as_ref(), limit).await?;
            Ok(ListTasksResponse {
                tasks: rows.iter().map(task_to_proto).collect(),
                page: Some(wework_kit::pagination::next_page(next)),
            })
        })
        .await
    }

    async fn cancel_task(&self, req: Request<CancelTaskRequest>) -> Result<Response<Task>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:write")?;
            let id = &req.get_ref().id;
            let current = find(state, &actor, id).await?;
            if !store::cancel_task(state.db.writer(), id, &actor.scope(), state.clock.now()).await? {
                return Err(Error::precondition(
                    "TASK_NOT_PENDING",
                    format!("only pending tasks can be cancelled; this one is {}", current.status),
                ));
            }
            let row = find(state, &actor, id).await?;
            audit_transition(state, &actor, &RequestMeta::from_request(&req), "task.cancel", &current, &row);
            Ok(task_to_proto(&row))
        })
        .await
    }

    async fn retry_task(&self, req: Request<RetryTaskRequest>) -> Result<Response<Task>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:write")?;
            let id = &req.get_ref().id;
            let current = find(state, &actor, id).await?;
            let now = state.clock.now();
            if !store::retry_task_now(state.db.writer(), id, &actor.scope(), now).await? {
                return Err(Error::precondition(
                    "TASK_NOT_RETRYABLE",
                    format!("only failed or pending tasks can be retried; this one is {}", current.status),
                ));
            }
            // The task as the retry left it (a worker may take it at once;
            // re-reading could show a later state than this call made).
            let row = entity::task::Model {
                status: status::PENDING.to_owned(),
                next_execute_at: now,
                attempts_base: if current.status == status::FAILED { current.attempts } else { current.attempts_base },
                last_error: if current.status == status::FAILED { None } else { current.last_error.clone() },
                finished_at: None,
                updated_at: now,
                ..current.clone()
            };
            state.wake.notify_one();
            audit_transition(state, &actor, &RequestMeta::from_request(&req), "task.retry", &current, &row);
            Ok(task_to_proto(&row))
        })
        .await
    }

    async fn list_executions(
        &self,
        req: Request<ListExecutionsRequest>,
    ) -> Result<Response<ListExecutionsResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("task:read")?;
            let r = req.get_ref();
            let task = find(state, &actor, &r.task_id).await?;
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let token = r.page.as_ref().map(|p| p.page_token.as_str()).unwrap_or_default();
            let before: Option<i32> = wework_kit::pagination::decode_token(token)?;
            let (rows, next) = store::list_executions(state.db.reader(), &task.id, before, limit).await?;
            Ok(ListExecutionsResponse {
                executions: rows.iter().map(execution_to_proto).collect(),
                page: Some(wework_kit::pagination::page_response(
                    next.map(|n| wework_kit::pagination::encode_token(&n)),
                )),
            })
        })
        .await
    }

    async fn publish_event(&self, req: Request<PublishEventRequest>) -> Result<Response<PublishEventResponse>, Status> {
        respond(async {
            let actor = self.state.actor(&req).await?;
            super::events::publish(&self.state, &actor, req.into_inner()).await
        })
        .await
    }
}

/// Audits a cancel or retry: the status and timing before and after, never
/// the body or headers of the task.
fn audit_transition(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    operation: &str,
    old: &entity::task::Model,
    new: &entity::task::Model,
) {
    let view = |t: &entity::task::Model| {
        json!({
            "status": t.status,
            "attempts": t.attempts,
            "next_execute_at": t.next_execute_at.to_rfc3339(),
            "finished_at": t.finished_at.map(|at| at.to_rfc3339()),
        })
    };
    let entry = actor.audit(meta, new.tenant_id.as_deref(), operation, "task", &new.id);
    state.audit.record(entry.values(Some(view(old)), Some(view(new))));
}

/// Inserts (or finds) tasks and wakes this replica's worker for due ones.
pub(crate) async fn create(state: &AppState, tasks: Vec<NewTask>) -> Result<Vec<(entity::task::Model, bool)>> {
    let now = state.clock.now();
    let due_now = tasks.iter().any(|t| t.scheduled_at <= now);
    let rows = state.inserter.create(tasks).await?;
    if due_now && rows.iter().any(|(_, created)| *created) {
        state.wake.notify_one();
    }
    metrics::counter!("task_created_total").increment(rows.iter().filter(|(_, c)| *c).count() as u64);
    Ok(rows)
}

async fn find(state: &AppState, actor: &Actor, id: &str) -> Result<entity::task::Model> {
    store::find_task(state.db.reader(), id, &actor.scope()).await?.ok_or(Error::NotFound("task"))
}

/// Decides the owning business system and tenant of a new task, and checks
/// the caller may target what it names.
pub(crate) async fn resolve_owner(state: &AppState, actor: &Actor, spec: NewTaskSpec, prefix: &str) -> Result<NewTask> {
    let business_id = match actor {
        Actor::Business(b) => b.id.clone(),
        Actor::Platform(_) | Actor::Tenant(_) => state.platform.id.clone(),
    };
    let mut tenant_id = None;
    match &spec.target {
        TaskTarget::Endpoint { endpoint_id } => {
            let owner = actor.owner_scope();
            let endpoint = store::find_endpoint(state.db.reader(), endpoint_id, owner.as_deref())
                .await?
                .ok_or_else(|| FieldError::new(format!("{prefix}.endpoint_id"), "no such endpoint"))?;
            tenant_id = endpoint.tenant_id;
        }
        TaskTarget::Http { .. } => {
            if matches!(actor, Actor::Tenant(_)) {
                return Err(Error::PermissionDenied("tenant users may only target their own endpoints".to_owned()));
            }
        }
    }
    Ok(new_task_from_spec(spec, business_id, tenant_id, None))
}

/// The store row for a parsed spec (also used by cron schedules).
pub(crate) fn new_task_from_spec(
    spec: NewTaskSpec,
    business_id: String,
    tenant_id: Option<String>,
    schedule_id: Option<String>,
) -> NewTask {
    let (endpoint_id, url, method, headers, content_type) = match spec.target {
        TaskTarget::Endpoint { endpoint_id } => (Some(endpoint_id), None, None, None, None),
        TaskTarget::Http { url, method, headers, content_type } => (
            None,
            Some(url.into_inner()),
            Some(method.as_str().to_owned()),
            Some(headers.into_iter().collect::<Vec<_>>()),
            Some(content_type),
        ),
    };
    NewTask {
        business_id,
        business_unique_id: spec.business_unique_id.into_inner(),
        tenant_id,
        endpoint_id,
        schedule_id,
        callback_url: url,
        callback_method: method,
        headers,
        content_type,
        body: spec.body,
        tags: spec.tags.into_inner(),
        priority: spec.priority.get(),
        scheduled_at: spec.scheduled_at,
        retry_intervals: spec.retry.intervals().to_vec(),
        max_retries: spec.retry.max_retries(),
        timeout_ms: spec.timeout.get(),
        traceparent: wework_kit::telemetry::current_traceparent(),
    }
}

fn status_filter(s: i32) -> Result<Option<&'static str>> {
    use wework_proto::task::TaskStatus as S;
    Ok(match S::try_from(s).map_err(|_| FieldError::new("status", "unknown status"))? {
        S::Unspecified => None,
        S::Pending => Some(status::PENDING),
        S::Running => Some(status::RUNNING),
        S::Succeeded => Some(status::SUCCEEDED),
        S::Failed => Some(status::FAILED),
        S::Cancelled => Some(status::CANCELLED),
    })
}

fn status_to_proto(s: &str) -> i32 {
    use wework_proto::task::TaskStatus as S;
    (match s {
        status::PENDING => S::Pending,
        status::RUNNING => S::Running,
        status::SUCCEEDED => S::Succeeded,
        status::FAILED => S::Failed,
        status::CANCELLED => S::Cancelled,
        _ => S::Unspecified,
    }) as i32
}

fn method_to_proto(m: Option<&str>) -> i32 {
    use wework_proto::task::HttpMethod as M;
    (match m {
        Some("PUT") => M::Put,
        Some("PATCH") => M::Patch,
        Some("GET") => M::Get,
        Some("DELETE") => M::Delete,
        _ => M::Post,
    }) as i32
}

pub(crate) fn task_to_proto(t: &entity::task::Model) -> Task {
    use wework_proto::task::task::Target;
    let target = match (&t.endpoint_id, &t.callback_url) {
        (Some(e), _) => Some(Target::EndpointId(e.clone())),
        (None, Some(url)) => Some(Target::Http(wework_proto::task::HttpTarget {
            url: url.clone(),
            method: method_to_proto(t.callback_method.as_deref()),
            headers: t
                .headers
                .as_deref()
                .and_then(|h| store::from_json_list::<Vec<(String, String)>>(h).ok())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            content_type: t.content_type.clone().unwrap_or_default(),
        })),
        (None, None) => None,
    };
    Task {
        id: t.id.clone(),
        business_id: t.business_id.clone(),
        business_unique_id: t.business_unique_id.clone(),
        tenant_id: t.tenant_id.clone().unwrap_or_default(),
        target,
        body: t.body.clone(),
        tags: store::from_json_list(&t.tags).unwrap_or_default(),
        priority: u32::try_from(t.priority).unwrap_or(0),
        scheduled_at: ts(t.scheduled_at),
        next_execute_at: ts(t.next_execute_at),
        retry_intervals: store::from_json_list(&t.retry_intervals).unwrap_or_default(),
        max_retries: u32::try_from(t.max_retries).unwrap_or(0),
        timeout_ms: u32::try_from(t.timeout_ms).unwrap_or(0),
        attempts: u32::try_from(t.attempts).unwrap_or(0),
        status: status_to_proto(&t.status),
        last_error: t.last_error.clone().unwrap_or_default(),
        finished_at: ts_opt(t.finished_at),
        created_at: ts(t.created_at),
        updated_at: ts(t.updated_at),
        webhook_id: t.id.clone(),
        schedule_id: t.schedule_id.clone().unwrap_or_default(),
    }
}

fn execution_to_proto(x: &entity::execution::Model) -> Execution {
    Execution {
        id: x.id.clone(),
        task_id: x.task_id.clone(),
        execution_sequence: u32::try_from(x.execution_sequence).unwrap_or(0),
        started_at: ts(x.started_at),
        duration_ms: u32::try_from(x.duration_ms).unwrap_or(0),
        http_status: x.http_status.and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
        response_headers: x
            .response_headers
            .as_deref()
            .and_then(|h| store::from_json_list::<Vec<(String, String)>>(h).ok())
            .unwrap_or_default()
            .into_iter()
            .collect(),
        response_body: x.response_body.clone().unwrap_or_default(),
        response_truncated: x.response_truncated,
        error_message: x.error_message.clone().unwrap_or_default(),
        retry_after: ts_opt(x.retry_after),
        success: x.success,
    }
}
