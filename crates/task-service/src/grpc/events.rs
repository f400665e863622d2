//! Tenant events (`TaskService.PublishEvent`): one signed delivery task per
//! enabled endpoint of `tenant:<id>`, idempotent on the event id, plus a live
//! announcement for the gateway's event stream. Service principals only.

use wework_proto::common::Event;
use wework_proto::task::{PublishEventRequest, PublishEventResponse};

use crate::domain::FieldError;
use crate::error::{Error, Result};
use crate::grpc::context::Actor;
use crate::state::AppState;
use crate::store::{self, NewTask};

/// Priority of event deliveries: above the default, so a backlog of bulk
/// tasks does not delay a tenant's webhooks.
const EVENT_PRIORITY: u8 = 6;

pub(crate) async fn publish(state: &AppState, actor: &Actor, req: PublishEventRequest) -> Result<PublishEventResponse> {
    let Actor::Platform(principal) = actor else {
        return Err(Error::PermissionDenied("only platform services publish tenant events".to_owned()));
    };
    if !principal.is_service() {
        return Err(Error::PermissionDenied("only platform services publish tenant events".to_owned()));
    }
    let mut event = req.event.ok_or_else(|| FieldError::new("event", "is required"))?;
    validate(&event)?;
    if event.id.is_empty() {
        event.id = wework_kit::events::new_event_id();
    }
    if event.occurred_at.is_none() {
        event.occurred_at = super::convert::ts(state.clock.now());
    }
    let body = serde_json::to_vec(&wework_kit::events::to_json(&event)).map_err(|e| Error::Internal(e.into()))?;
    let owner = format!("tenant:{}", event.tenant_id);
    let endpoints = store::enabled_endpoints_of(state.db.reader(), &owner).await?;
    let now = state.clock.now();
    let tasks: Vec<NewTask> = endpoints
        .iter()
        .map(|e| NewTask {
            business_id: state.platform.id.clone(),
            business_unique_id: format!("event:{}:{}", event.id, e.id),
            tenant_id: Some(event.tenant_id.clone()),
            endpoint_id: Some(e.id.clone()),
            schedule_id: None,
            callback_url: None,
            callback_method: None,
            headers: None,
            content_type: None,
            body: body.clone(),
            tags: vec!["event".to_owned(), event.r#type.clone()],
            priority: EVENT_PRIORITY,
            scheduled_at: now,
            retry_intervals: Vec::new(),
            max_retries: crate::domain::retry::DEFAULT_RETRY_INTERVALS.len() as u32,
            timeout_ms: 15_000,
            traceparent: wework_kit::telemetry::current_traceparent(),
        })
        .collect();
    let created = super::tasks::create(state, tasks).await?;
    state.live.announce(&event).await;
    metrics::counter!("task_events_published_total").increment(1);
    Ok(PublishEventResponse { event_id: event.id, task_ids: created.into_iter().map(|(t, _)| t.id).collect() })
}

fn validate(e: &Event) -> Result<()> {
    let mut errors = Vec::new();
    if uuid::Uuid::parse_str(&e.tenant_id).is_err() {
        errors.push(FieldError::new("event.tenant_id", "must be a tenant id"));
    }
    let type_ok = (1..=64).contains(&e.r#type.len())
        && e.r#type.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_'));
    if !type_ok {
        errors.push(FieldError::new("event.type", "must be 1 to 64 of [a-z0-9._], e.g. account.status_changed"));
    }
    if !e.id.is_empty() && (e.id.len() > 64 || !e.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        errors.push(FieldError::new("event.id", "must be up to 64 of [A-Za-z0-9_-]"));
    }
    if e.source.len() > 64 {
        errors.push(FieldError::new("event.source", "must be at most 64 characters"));
    }
    if e.subject.len() > 128 {
        errors.push(FieldError::new("event.subject", "must be at most 128 characters"));
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
}
