//! `CallbackService`: listing, reading, replaying and counting received
//! callbacks. A tenant caller reaches its own tenant's events only; events
//! not yet resolved to a tenant are visible to platform callers alone.

use tonic::{Request, Response, Status};
use wework_proto::callback::{self as pb, callback_service_server::CallbackService};

use super::context::Caller;
use super::convert::{event_to_proto, from_ts_opt};
use super::{Api, optional_id, page, respond};
use crate::domain::FieldError;
use crate::domain::status::EventStatus;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, EventFilter, quantile};

const MAX_ID: usize = 36;
const MAX_GUID: usize = 100;
const DEFAULT_REPLAY_LIMIT: u32 = 1_000;
const MAX_REPLAY_LIMIT: u32 = 10_000;

fn filter_of(caller: &Caller, f: Option<&pb::EventFilter>, prefix: &str) -> Result<EventFilter> {
    let default = pb::EventFilter::default();
    let f = f.unwrap_or(&default);
    let field = |name: &str| format!("{prefix}{name}");
    let mut errors = Vec::new();
    let tenant_id = caller.tenant_scope(&f.tenant_id)?;
    let guid = optional_id(&f.guid, &field("guid"), MAX_GUID, &mut errors);
    let account_id = optional_id(&f.account_id, &field("account_id"), MAX_ID, &mut errors);
    let event_type = optional_id(&f.event_type, &field("event_type"), 64, &mut errors);
    let status = match f.status {
        0 => None,
        v => EventStatus::from_proto(v).or_else(|| {
            errors.push(FieldError::new(field("status"), "unknown status"));
            None
        }),
    };
    let source = match f.source.trim() {
        "" => None,
        "instance" => Some("instance"),
        "wecom" => Some("wecom"),
        _ => {
            errors.push(FieldError::new(field("source"), "must be instance or wecom"));
            None
        }
    };
    let received_after = from_ts_opt(f.received_after.as_ref(), &field("received_after")).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let received_before = from_ts_opt(f.received_before.as_ref(), &field("received_before")).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(EventFilter {
        tenant_id,
        guid,
        account_id,
        event_type,
        notify_type: Some(f.notify_type).filter(|n| *n != 0),
        status,
        source,
        received_after,
        received_before,
    })
}

fn event_id(id: &str) -> Result<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(FieldError::new("id", "must be an event id").into());
    }
    Ok(id.to_owned())
}

async fn list(state: &AppState, caller: &Caller, r: &pb::ListEventsRequest) -> Result<pb::ListEventsResponse> {
    caller.require("callback:read")?;
    let filter = filter_of(caller, r.filter.as_ref(), "filter.")?;
    let (limit, cursor) = page(r.page.as_ref())?;
    let (rows, next) = store::list_events(state.db.reader(), &filter, cursor.as_ref(), limit).await?;
    Ok(pb::ListEventsResponse {
        events: rows.iter().map(|r| event_to_proto(r, false)).collect(),
        page: Some(wework_kit::pagination::next_page(next)),
    })
}

async fn get(state: &AppState, caller: &Caller, r: &pb::GetEventRequest) -> Result<pb::CallbackEvent> {
    caller.require("callback:read")?;
    let id = event_id(&r.id)?;
    let scope = caller.row_scope();
    let row = store::find_event(state.db.writer(), scope.as_deref(), &id).await?.ok_or(Error::NotFound("event"))?;
    Ok(event_to_proto(&row, true))
}

async fn replay(state: &AppState, caller: &Caller, r: &pb::ReplayEventRequest) -> Result<pb::CallbackEvent> {
    caller.require("callback:replay")?;
    let id = event_id(&r.id)?;
    let scope = caller.row_scope();
    let db = state.db.writer();
    let row = store::find_event(db, scope.as_deref(), &id).await?.ok_or(Error::NotFound("event"))?;
    if !store::replay_event(db, scope.as_deref(), &id, state.clock.now()).await? {
        return Err(Error::precondition(
            "NOT_FINISHED",
            format!("the event is {}; only finished events replay", row.status),
        ));
    }
    state.stored.notify_one();
    let tenant = row.tenant_id.clone().unwrap_or_default();
    state.audit.record(caller.audit(&tenant, "callback.replay", "callback_event", &id));
    let row = store::find_event(db, None, &id).await?.ok_or(Error::NotFound("event"))?;
    Ok(event_to_proto(&row, false))
}

async fn replay_many(
    state: &AppState,
    caller: &Caller,
    r: &pb::ReplayEventsRequest,
) -> Result<pb::ReplayEventsResponse> {
    caller.require("callback:replay")?;
    let filter = filter_of(caller, r.filter.as_ref(), "filter.")?;
    if let Some(s) = filter.status.filter(|s| !s.is_final()) {
        return Err(FieldError::new(
            "filter.status",
            format!("{} events are not finished; nothing to replay", s.as_str()),
        )
        .into());
    }
    let limit = match r.limit {
        0 => DEFAULT_REPLAY_LIMIT,
        n if n <= MAX_REPLAY_LIMIT => n,
        _ => return Err(FieldError::new("limit", format!("must be at most {MAX_REPLAY_LIMIT}")).into()),
    };
    let replayed = store::replay_matching(state.db.writer(), &filter, u64::from(limit), state.clock.now()).await?;
    if replayed > 0 {
        state.stored.notify_one();
    }
    let tenant = filter.tenant_id.clone().unwrap_or_default();
    state.audit.record(caller.audit(&tenant, "callback.replay_many", "callback_event", &format!("{replayed} events")));
    Ok(pb::ReplayEventsResponse { replayed: u32::try_from(replayed).unwrap_or(u32::MAX) })
}

async fn stats(state: &AppState, caller: &Caller, r: &pb::GetStatsRequest) -> Result<pb::GetStatsResponse> {
    caller.require("callback:read")?;
    let tenant = caller.tenant_scope(&r.tenant_id)?;
    let now = state.clock.now();
    let since = from_ts_opt(r.received_after.as_ref(), "received_after")?.unwrap_or(now - chrono::Duration::hours(24));
    let s = store::event_stats(state.db.reader(), tenant.as_deref(), since).await?;
    let rows = s
        .rows
        .into_iter()
        .map(|(notify_type, event_type, status, count)| pb::StatsRow {
            notify_type,
            event_type,
            status: EventStatus::parse(&status).map_or(0, |s| s.to_proto() as i32),
            count: u64::try_from(count).unwrap_or(0),
        })
        .collect();
    let oldest_ms = s.oldest_waiting.map_or(0, |t| (now - t).num_milliseconds().max(0));
    Ok(pb::GetStatsResponse {
        rows,
        backlog: u64::try_from(s.backlog).unwrap_or(0),
        oldest_waiting_ms: u64::try_from(oldest_ms).unwrap_or(0),
        processing_p50_ms: quantile(&s.latencies_ms, 0.5),
        processing_p99_ms: quantile(&s.latencies_ms, 0.99),
    })
}

#[tonic::async_trait]
impl CallbackService for Api {
    async fn list_events(
        &self,
        req: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            list(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn get_event(&self, req: Request<pb::GetEventRequest>) -> Result<Response<pb::CallbackEvent>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            get(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn replay_event(&self, req: Request<pb::ReplayEventRequest>) -> Result<Response<pb::CallbackEvent>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            replay(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn replay_events(
        &self,
        req: Request<pb::ReplayEventsRequest>,
    ) -> Result<Response<pb::ReplayEventsResponse>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            replay_many(&self.state, &caller, req.get_ref()).await
        })
        .await
    }

    async fn get_stats(&self, req: Request<pb::GetStatsRequest>) -> Result<Response<pb::GetStatsResponse>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            stats(&self.state, &caller, req.get_ref()).await
        })
        .await
    }
}
