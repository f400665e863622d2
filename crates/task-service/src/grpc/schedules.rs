//! `ScheduleService`: cron schedules that create one task per slot (the
//! scheduler in `worker::scheduler` fires them), plus a manual run.
//!
//! Who owns a schedule: a business system owns its own; the platform and
//! tenant users create them under the built-in `platform` system, a tenant
//! user's carrying its tenant id. Another owner's schedule is NotFound. The
//! template follows the rules of `CreateTask` (a tenant user may only target
//! its tenant's endpoints) and is stored resolved. `next_run_at` is always
//! the first slot after the write that set it, so creating, resuming or
//! re-timing a schedule never runs slots from the past. Every write and
//! manual run is audited (the schedule's tenant, else the platform's) with no
//! body or header value of the template.

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde_json::{Value, json};
use tonic::{Request, Response, Status};
use wework_kit::audit::RequestMeta;
use wework_proto::task::{
    CreateScheduleRequest, DeleteScheduleResponse, HttpTarget, ListSchedulesRequest, ListSchedulesResponse,
    MissedSlotPolicy as PbPolicy, Schedule, ScheduleRef, Task, TaskSpec, UpdateScheduleRequest,
    schedule_service_server::ScheduleService, task_spec,
};

use super::context::{Actor, audit_url};
use super::convert::{ts, ts_opt};
use super::tasks::{create, resolve_owner, task_to_proto};
use super::{Api, page, respond};
use crate::domain::cron::MissedSlotPolicy;
use crate::domain::model::{HttpMethod, NewSchedule, NewTaskSpec, ScheduleUpdate};
use crate::domain::validate::parse_uuid;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, ScheduleChanges, TaskTemplate, entity::schedule};

#[tonic::async_trait]
impl ScheduleService for Api {
    async fn create_schedule(&self, req: Request<CreateScheduleRequest>) -> Result<Response<Schedule>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("schedule:write")?;
            let meta = RequestMeta::from_request(&req);
            let now = state.clock.now();
            let new = NewSchedule::parse(req.into_inner(), now)?;
            let template = template_for(state, &actor, new.template).await?;
            let business_id = match &actor {
                Actor::Business(b) => b.id.clone(),
                Actor::Platform(_) | Actor::Tenant(_) => state.platform.id.clone(),
            };
            let tenant_id = match &actor {
                Actor::Tenant(p) => Some(p.tenant_id.clone()),
                Actor::Business(_) | Actor::Platform(_) => None,
            };
            let row = store::NewSchedule {
                business_id,
                tenant_id,
                name: new.name.into_inner(),
                cron: new.cron.expr().to_owned(),
                time_zone: new.cron.time_zone().to_owned(),
                template,
                missed_slot_policy: new.missed_slot_policy.as_str(),
                next_run_at: new.cron.next_after(now),
            };
            let row = store::insert_schedule(state.db.writer(), row, now)
                .await
                .map_err(|e| Error::duplicate_as(e, "schedule"))?;
            let view = schedule_to_proto(&row)?;
            let entry = actor.audit(&meta, row.tenant_id.as_deref(), "schedule.create", "schedule", &row.id);
            state.audit.record(entry.values(None, Some(audit_snapshot(&view))));
            Ok(view)
        })
        .await
    }

    async fn update_schedule(&self, req: Request<UpdateScheduleRequest>) -> Result<Response<Schedule>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("schedule:write")?;
            let meta = RequestMeta::from_request(&req);
            let now = state.clock.now();
            let update = ScheduleUpdate::parse(req.into_inner(), now)?;
            let current = find(state, &actor, &update.id).await?;
            let old = schedule_to_proto(&current).ok().map(|v| audit_snapshot(&v));
            let cron = update.cron_schedule(&current.cron, &current.time_zone)?;
            let template = match update.template {
                Some(spec) => Some(template_for(state, &actor, spec).await?),
                None => None,
            };
            let changes = ScheduleChanges {
                name: update.name.map(|n| n.into_inner()),
                cron: cron.as_ref().map(|c| c.expr().to_owned()),
                time_zone: cron.as_ref().map(|c| c.time_zone().to_owned()),
                template,
                missed_slot_policy: update.missed_slot_policy.map(MissedSlotPolicy::as_str),
                // A paused schedule has no next run until it is resumed.
                next_run_at: cron.as_ref().filter(|_| current.active).map(|c| c.next_after(now)),
            };
            let row = store::update_schedule(state.db.writer(), current, changes, now)
                .await
                .map_err(|e| Error::duplicate_as(e, "schedule"))?;
            let view = schedule_to_proto(&row)?;
            let entry = actor.audit(&meta, row.tenant_id.as_deref(), "schedule.update", "schedule", &row.id);
            state.audit.record(entry.values(old, Some(audit_snapshot(&view))));
            Ok(view)
        })
        .await
    }

    async fn pause_schedule(&self, req: Request<ScheduleRef>) -> Result<Response<Schedule>, Status> {
        respond(async { set_active(&self.state, &req, false).await }).await
    }

    async fn resume_schedule(&self, req: Request<ScheduleRef>) -> Result<Response<Schedule>, Status> {
        respond(async { set_active(&self.state, &req, true).await }).await
    }

    async fn delete_schedule(&self, req: Request<ScheduleRef>) -> Result<Response<DeleteScheduleResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("schedule:write")?;
            let id = parse_uuid("id", &req.get_ref().id)?;
            // The schedule and its ticks go together.
            let txn = state.db.writer().begin().await?;
            let current = store::find_schedule(&txn, &id, &actor.scope()).await?.ok_or(Error::NotFound("schedule"))?;
            if !store::delete_schedule(&txn, &id, &actor.scope()).await? {
                return Err(Error::NotFound("schedule"));
            }
            txn.commit().await?;
            let old = schedule_to_proto(&current).ok().map(|v| audit_snapshot(&v));
            let meta = RequestMeta::from_request(&req);
            let entry = actor.audit(&meta, current.tenant_id.as_deref(), "schedule.delete", "schedule", &id);
            state.audit.record(entry.values(old, None));
            Ok(DeleteScheduleResponse {})
        })
        .await
    }

    async fn get_schedule(&self, req: Request<ScheduleRef>) -> Result<Response<Schedule>, Status> {
        respond(async {
            let actor = self.state.actor(&req).await?;
            actor.require("schedule:read")?;
            let id = parse_uuid("id", &req.get_ref().id)?;
            schedule_to_proto(&find(&self.state, &actor, &id).await?)
        })
        .await
    }

    async fn list_schedules(
        &self,
        req: Request<ListSchedulesRequest>,
    ) -> Result<Response<ListSchedulesResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("schedule:read")?;
            let (limit, cursor) = page(req.get_ref().page.as_ref())?;
            let (rows, next) = store::list_schedules(state.db.reader(), &actor.scope(), cursor.as_ref(), limit).await?;
            Ok(ListSchedulesResponse {
                schedules: rows.iter().map(schedule_to_proto).collect::<Result<_>>()?,
                page: Some(wework_kit::pagination::next_page(next)),
            })
        })
        .await
    }

    async fn trigger_schedule(&self, req: Request<ScheduleRef>) -> Result<Response<Task>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("schedule:write")?;
            let id = parse_uuid("id", &req.get_ref().id)?;
            let current = find(state, &actor, &id).await?;
            let template = TaskTemplate::from_stored(&current.template)?;
            let key = format!("{}:manual:{}", current.id, store::new_id());
            let task = template.to_task(&current, key, state.clock.now());
            let (row, _) = create(state, vec![task]).await?.pop().ok_or_else(|| anyhow::anyhow!("no task row"))?;
            let meta = RequestMeta::from_request(&req);
            let entry = actor.audit(&meta, current.tenant_id.as_deref(), "schedule.trigger", "schedule", &current.id);
            state.audit.record(entry.values(None, Some(json!({ "task_id": row.id }))));
            Ok(task_to_proto(&row))
        })
        .await
    }
}

/// Pauses, or resumes from now on (slots missed while paused do not run).
async fn set_active(state: &AppState, req: &Request<ScheduleRef>, active: bool) -> Result<Schedule> {
    let actor = state.actor(req).await?;
    actor.require("schedule:write")?;
    let id = parse_uuid("id", &req.get_ref().id)?;
    let current = find(state, &actor, &id).await?;
    let old = schedule_to_proto(&current).ok().map(|v| audit_snapshot(&v));
    let now = state.clock.now();
    let next_run_at = if active { next_slot(&current, now)? } else { None };
    let row = store::set_schedule_active(state.db.writer(), current, active, next_run_at, now).await?;
    let view = schedule_to_proto(&row)?;
    let operation = if active { "schedule.resume" } else { "schedule.pause" };
    let entry = actor.audit(&RequestMeta::from_request(req), row.tenant_id.as_deref(), operation, "schedule", &row.id);
    state.audit.record(entry.values(old, Some(audit_snapshot(&view))));
    Ok(view)
}

/// What the audit trail keeps of a schedule: its timing and target, without
/// the body, header values, or the url's query (any may carry a secret).
fn audit_snapshot(s: &Schedule) -> Value {
    let spec = s.template.as_ref();
    let target = match spec.and_then(|t| t.target.as_ref()) {
        Some(task_spec::Target::EndpointId(id)) => json!({ "endpoint_id": id }),
        Some(task_spec::Target::Http(http)) => json!({
            "url": audit_url(&http.url),
            "method": wework_proto::task::HttpMethod::try_from(http.method).map(|m| m.as_str_name()).ok(),
            "header_names": http.headers.keys().collect::<Vec<_>>(),
        }),
        None => Value::Null,
    };
    json!({
        "name": s.name,
        "business_id": s.business_id,
        "tenant_id": s.tenant_id,
        "cron": s.cron,
        "time_zone": s.time_zone,
        "active": s.active,
        "missed_slot_policy": s.missed_slot_policy,
        "next_run_at": s.next_run_at.as_ref().map(ToString::to_string),
        "target": target,
        "priority": spec.map(|t| t.priority),
        "max_retries": spec.and_then(|t| t.max_retries),
    })
}

/// The first slot of a stored schedule after `now`.
fn next_slot(s: &schedule::Model, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let cron = crate::domain::cron::CronSchedule::parse(&s.cron, &s.time_zone)
        .map_err(|e| anyhow::anyhow!("stored schedule {}: {e}", s.id))?;
    Ok(cron.next_after(now))
}

async fn find(state: &AppState, actor: &Actor, id: &str) -> Result<schedule::Model> {
    store::find_schedule(state.db.writer(), id, &actor.scope()).await?.ok_or(Error::NotFound("schedule"))
}

/// Resolves a template like a task create (owner and target checks).
async fn template_for(state: &AppState, actor: &Actor, spec: NewTaskSpec) -> Result<TaskTemplate> {
    Ok(TaskTemplate::from_task(resolve_owner(state, actor, spec, "template").await?))
}

fn policy_to_proto(stored: &str) -> PbPolicy {
    match MissedSlotPolicy::from_stored(stored) {
        Some(MissedSlotPolicy::RunOnce) => PbPolicy::RunOnce,
        Some(MissedSlotPolicy::Skip) => PbPolicy::Skip,
        None => PbPolicy::Unspecified,
    }
}

/// The template as a `TaskSpec` (without a key or due time: runs get their own).
fn template_to_proto(t: TaskTemplate) -> TaskSpec {
    let target = match (t.endpoint_id, t.callback_url) {
        (Some(id), _) => Some(task_spec::Target::EndpointId(id)),
        (None, Some(url)) => Some(task_spec::Target::Http(HttpTarget {
            url,
            method: t.callback_method.as_deref().and_then(HttpMethod::from_stored).unwrap_or_default().to_proto()
                as i32,
            headers: t.headers.unwrap_or_default().into_iter().collect(),
            content_type: t.content_type.unwrap_or_default(),
        })),
        (None, None) => None,
    };
    TaskSpec {
        business_unique_id: String::new(),
        target,
        body: t.body,
        tags: t.tags,
        priority: u32::from(t.priority),
        scheduled_at: None,
        retry_intervals: t.retry_intervals,
        max_retries: Some(t.max_retries),
        timeout_ms: t.timeout_ms,
    }
}

pub(crate) fn schedule_to_proto(s: &schedule::Model) -> Result<Schedule> {
    let template = TaskTemplate::from_stored(&s.template)?;
    Ok(Schedule {
        id: s.id.clone(),
        business_id: s.business_id.clone(),
        name: s.name.clone(),
        cron: s.cron.clone(),
        time_zone: s.time_zone.clone(),
        template: Some(template_to_proto(template)),
        active: s.active,
        missed_slot_policy: policy_to_proto(&s.missed_slot_policy) as i32,
        last_run_at: ts_opt(s.last_run_at),
        next_run_at: ts_opt(s.next_run_at),
        created_at: ts(s.created_at),
        updated_at: ts(s.updated_at),
        tenant_id: s.tenant_id.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> TaskTemplate {
        TaskTemplate {
            tenant_id: None,
            endpoint_id: None,
            callback_url: Some("https://example.com/hook".into()),
            callback_method: Some("PUT".into()),
            headers: Some(vec![("x-a".into(), "1".into())]),
            content_type: Some("text/plain".into()),
            body: b"hi".to_vec(),
            tags: vec!["t".into()],
            priority: 7,
            retry_intervals: vec![5],
            max_retries: 3,
            timeout_ms: 2000,
        }
    }

    #[test]
    fn an_http_template_reads_back_as_a_task_spec() {
        let spec = template_to_proto(template());
        let Some(task_spec::Target::Http(http)) = spec.target else { panic!("http target: {spec:?}") };
        assert_eq!(http.url, "https://example.com/hook");
        assert_eq!(http.method, wework_proto::task::HttpMethod::Put as i32);
        assert_eq!(http.headers.get("x-a").map(String::as_str), Some("1"));
        assert_eq!(http.content_type, "text/plain");
        assert_eq!((spec.priority, spec.max_retries, spec.timeout_ms), (7, Some(3), 2000));
        assert_eq!((spec.body, spec.tags, spec.retry_intervals), (b"hi".to_vec(), vec!["t".to_owned()], vec![5]));
        assert!(spec.business_unique_id.is_empty() && spec.scheduled_at.is_none());
    }

    #[test]
    fn the_audit_snapshot_keeps_no_body_header_value_or_query() {
        let t = TaskTemplate {
            callback_url: Some("https://user:pw@example.com/hook?token=s3cret#frag".into()),
            headers: Some(vec![("authorization".into(), "Bearer abc".into())]),
            body: b"card=4111".to_vec(),
            ..template()
        };
        let view = Schedule { name: "nightly".into(), template: Some(template_to_proto(t)), ..Schedule::default() };
        let snapshot = audit_snapshot(&view);
        assert_eq!(snapshot["target"]["url"], "https://example.com/hook");
        assert_eq!(snapshot["target"]["header_names"], json!(["authorization"]));
        assert_eq!(snapshot["target"]["method"], "HTTP_METHOD_PUT");
        assert_eq!((snapshot["name"].as_str(), snapshot["priority"].as_u64()), (Some("nightly"), Some(7)));
        let shown = snapshot.to_string();
        for secret in ["Bearer", "s3cret", "pw@", "4111", "frag"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn an_endpoint_template_reads_back_as_its_id() {
        let t = TaskTemplate { endpoint_id: Some("e1".into()), callback_url: None, ..template() };
        assert_eq!(template_to_proto(t).target, Some(task_spec::Target::EndpointId("e1".into())));
    }

    #[test]
    fn stored_policies_map_to_proto() {
        assert_eq!(policy_to_proto("run_once"), PbPolicy::RunOnce);
        assert_eq!(policy_to_proto("skip"), PbPolicy::Skip);
        assert_eq!(policy_to_proto("weird"), PbPolicy::Unspecified);
    }
}
