//! The audit trail: the helper every mutating handler calls, and the
//! AuditService (RecordAudit for service principals, ListAuditLogs).
//! Values pass through `domain::audit::redact` so secrets never land here.

use tonic::{Request, Response, Status};
use wework_proto::common::OperationResult;
use wework_proto::user::{self as pb, audit_service_server::AuditService};

use super::context::{Call, RequestMeta};
use super::convert::{json_to_struct, non_empty, opt_from_ts, struct_to_json, ts};
use super::{Api, respond};
use crate::domain::audit::redact;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store;

/// One audit row before it is written.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub tenant_id: String,
    pub user_id: Option<String>,
    pub principal_kind: String,
    /// Set by other services' rows (RecordAudit): who acted, without a user id.
    pub actor: Option<String>,
    pub service: String,
    pub operation: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    /// `Some(reason)` records a failed attempt.
    pub failure: Option<String>,
}

impl Entry {
    pub fn by_user(tenant_id: &str, user_id: &str, operation: &str, resource_type: &str, resource_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            user_id: Some(user_id.to_owned()),
            principal_kind: "user".into(),
            service: crate::settings::SERVICE_NAME.into(),
            operation: operation.into(),
            resource_type: resource_type.into(),
            resource_id: Some(resource_id.to_owned()),
            ..Self::default()
        }
    }

    /// An entry for what `call`'s principal did to a resource of `tenant_id`.
    pub fn by(call: &Call, tenant_id: &str, operation: &str, resource_type: &str, resource_id: &str) -> Self {
        let p = &call.principal;
        Self {
            tenant_id: tenant_id.to_owned(),
            user_id: p.user_id.clone(),
            principal_kind: kind_name(p.kind).into(),
            service: crate::settings::SERVICE_NAME.into(),
            operation: operation.into(),
            resource_type: resource_type.into(),
            resource_id: Some(resource_id.to_owned()),
            ..Self::default()
        }
    }

    pub fn values(mut self, old: Option<serde_json::Value>, new: Option<serde_json::Value>) -> Self {
        self.old_value = old;
        self.new_value = new;
        self
    }
}

/// The kind a service reports for its caller; anything unknown is `service`.
fn recorded_kind(kind: &str) -> &'static str {
    match kind {
        "user" => "user",
        "api_key" => "api_key",
        "business" => "business",
        _ => "service",
    }
}

fn kind_name(kind: wework_kit::auth::PrincipalKind) -> &'static str {
    match kind {
        wework_kit::auth::PrincipalKind::User => "user",
        wework_kit::auth::PrincipalKind::Service => "service",
        wework_kit::auth::PrincipalKind::ApiKey => "api_key",
    }
}

fn to_new_audit(entry: Entry, meta: &RequestMeta, now: chrono::DateTime<chrono::Utc>) -> store::NewAudit {
    store::NewAudit {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: entry.tenant_id,
        user_id: entry.user_id,
        principal_kind: entry.principal_kind,
        actor: entry.actor,
        operation: entry.operation,
        resource_type: entry.resource_type,
        resource_id: entry.resource_id,
        old_value: entry.old_value.map(redact),
        new_value: entry.new_value.map(redact),
        result: if entry.failure.is_some() { store::RESULT_FAILURE } else { store::RESULT_SUCCESS }.into(),
        error_message: entry.failure,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        service: entry.service,
        created_at: now,
    }
}

/// Writes an audit row inside the caller's transaction, so the change and its
/// record commit together.
pub async fn record_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    state: &AppState,
    entry: Entry,
    meta: &RequestMeta,
) -> Result<()> {
    store::insert_audit(conn, to_new_audit(entry, meta, state.clock.now())).await?;
    Ok(())
}

/// Writes an audit row on its own; for events with no other write (failed
/// logins). A failure to audit is logged, never shown to the caller.
pub async fn record(state: &AppState, entry: Entry, meta: &RequestMeta) {
    if let Err(e) = record_in(state.db.writer(), state, entry, meta).await {
        tracing::error!(error = %e, "could not write audit row");
    }
}

fn to_proto(m: store::AuditModel) -> pb::AuditLog {
    let old_value = m.old_value_json().ok().flatten().as_ref().and_then(json_to_struct);
    let new_value = m.new_value_json().ok().flatten().as_ref().and_then(json_to_struct);
    let result = if m.result == store::RESULT_SUCCESS { OperationResult::Success } else { OperationResult::Failure };
    pb::AuditLog {
        id: m.id,
        tenant_id: m.tenant_id,
        user_id: m.user_id.unwrap_or_default(),
        operation: m.operation,
        resource_type: m.resource_type,
        resource_id: m.resource_id.unwrap_or_default(),
        old_value,
        new_value,
        result: result as i32,
        error_message: m.error_message.unwrap_or_default(),
        ip: m.ip.unwrap_or_default(),
        user_agent: m.user_agent.unwrap_or_default(),
        request_id: m.request_id.unwrap_or_default(),
        service: m.service,
        created_at: Some(ts(m.created_at)),
        principal_kind: m.principal_kind,
        actor: m.actor.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl AuditService for Api {
    async fn record_audit(
        &self,
        req: Request<pb::RecordAuditRequest>,
    ) -> Result<Response<pb::RecordAuditResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            if !call.principal.is_service() {
                return Err(Error::PermissionDenied("only services record audit rows".into()));
            }
            let e = req.into_inner().entry.ok_or_else(|| Error::invalid("entry", "required"))?;
            let operation = non_empty(&e.operation).ok_or_else(|| Error::invalid("entry.operation", "required"))?;
            let tenant_id = non_empty(&e.tenant_id).ok_or_else(|| Error::invalid("entry.tenant_id", "required"))?;
            let resource_type =
                non_empty(&e.resource_type).ok_or_else(|| Error::invalid("entry.resource_type", "required"))?;
            let service = non_empty(&e.service)
                .map(str::to_owned)
                .or_else(|| call.principal.service.clone())
                .unwrap_or_else(|| "unknown".into());
            let failure = (e.result == OperationResult::Failure as i32)
                .then(|| non_empty(&e.error_message).unwrap_or("failed").to_owned());
            let entry = Entry {
                tenant_id: tenant_id.to_owned(),
                user_id: non_empty(&e.user_id).map(str::to_owned),
                principal_kind: recorded_kind(&e.principal_kind).into(),
                actor: non_empty(&e.actor).map(|a| a.chars().take(128).collect()),
                service,
                operation: operation.to_owned(),
                resource_type: resource_type.to_owned(),
                resource_id: non_empty(&e.resource_id).map(str::to_owned),
                old_value: e.old_value.as_ref().map(struct_to_json),
                new_value: e.new_value.as_ref().map(struct_to_json),
                failure,
            };
            let mut meta = call.meta.clone();
            if let Some(ip) = non_empty(&e.ip) {
                meta.ip = Some(ip.to_owned());
            }
            if let Some(ua) = non_empty(&e.user_agent) {
                meta.user_agent = Some(ua.to_owned());
            }
            if let Some(rid) = non_empty(&e.request_id) {
                meta.request_id = Some(rid.to_owned());
            }
            let row = to_new_audit(entry, &meta, self.state.clock.now());
            let id = row.id.clone();
            store::insert_audit(self.state.db.writer(), row).await?;
            Ok(pb::RecordAuditResponse { id })
        })
        .await
    }

    async fn list_audit_logs(
        &self,
        req: Request<pb::ListAuditLogsRequest>,
    ) -> Result<Response<pb::ListAuditLogsResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("audit:read")?;
            let r = req.into_inner();
            let tenant_id = call.target_tenant(&r.tenant_id)?;
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let filter = store::AuditFilter {
                user_id: non_empty(&r.user_id).map(str::to_owned),
                operation: non_empty(&r.operation).map(str::to_owned),
                resource_type: non_empty(&r.resource_type).map(str::to_owned),
                resource_id: non_empty(&r.resource_id).map(str::to_owned),
                since: opt_from_ts("since", r.since.as_ref())?,
                until: opt_from_ts("until", r.until.as_ref())?,
            };
            let (rows, next) = store::list_audit(self.state.db.reader(), &tenant_id, &filter, cursor, limit).await?;
            Ok(pb::ListAuditLogsResponse {
                entries: rows.into_iter().map(to_proto).collect(),
                page: Some(super::next_page(next)),
            })
        })
        .await
    }
}
