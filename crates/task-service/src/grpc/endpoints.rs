//! `EndpointService`: webhook receivers with their own signing secret.
//!
//! Contract: an endpoint belongs to an owner (`tenant:<id>`,
//! `business:<code>` or `platform`). The platform manages any owner's
//! endpoints; every other caller is confined to its own owner — naming
//! another is PermissionDenied, and another owner's endpoint reads as
//! NotFound. A signing secret leaves the service only when it is created or
//! rotated, or when a caller with `endpoint:write` asks for it; it is stored
//! sealed. Every write evicts the worker's cached copy of the endpoint and is
//! audited in the owner tenant's trail (the platform's for other owners),
//! without the secret or the url's query.

use serde_json::{Value, json};
use tonic::{Request, Response, Status};
use wework_kit::audit::RequestMeta;
use wework_kit::errors::{DbErrorKind, classify_db_err};
use wework_proto::task::{
    self as pb, GetEndpointRequest, GetEndpointResponse, ListEndpointsRequest, ListEndpointsResponse,
    RotateEndpointSecretRequest, SetEndpointEnabledRequest, UpsertEndpointRequest, UpsertEndpointResponse,
    endpoint_service_server::EndpointService,
};

use super::context::{Actor, audit_url};
use super::convert::{ts, ts_opt};
use super::{Api, page, respond};
use crate::delivery::SigningSecret;
use crate::domain::FieldError;
use crate::domain::model::{EndpointOwner, EndpointUpsert};
use crate::domain::validate::{parse_overlap, parse_uuid};
use crate::error::{Error, Result};
use crate::store::entity::endpoint;
use crate::store::{self, status};

/// The caller-facing view of a row; never carries a secret.
pub fn endpoint_to_proto(row: &endpoint::Model) -> pb::Endpoint {
    let status = match row.status.as_str() {
        status::ENABLED => pb::EndpointStatus::Enabled,
        status::DISABLED => pb::EndpointStatus::Disabled,
        _ => pb::EndpointStatus::Unspecified,
    };
    pb::Endpoint {
        id: row.id.clone(),
        owner: row.owner.clone(),
        name: row.name.clone(),
        url: row.url.clone(),
        status: status.into(),
        description: row.description.clone().unwrap_or_default(),
        failing_since: ts_opt(row.failing_since),
        disabled_reason: row.disabled_reason.clone().unwrap_or_default(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}

/// The stored status a list filters on; unspecified lists all.
fn status_filter(raw: i32) -> Result<Option<&'static str>, FieldError> {
    match pb::EndpointStatus::try_from(raw) {
        Ok(pb::EndpointStatus::Unspecified) => Ok(None),
        Ok(pb::EndpointStatus::Enabled) => Ok(Some(status::ENABLED)),
        Ok(pb::EndpointStatus::Disabled) => Ok(Some(status::DISABLED)),
        Err(_) => Err(FieldError::new("status", "is not a known status")),
    }
}

/// The owner a request acts on: the one it names, or the caller's default.
/// `own` is the owner a non-platform caller is confined to (`None` = any).
fn resolve_owner(requested: Option<&EndpointOwner>, own: Option<&str>, default: String) -> Result<String> {
    let owner = requested.map_or(default, ToString::to_string);
    match own {
        Some(own) if own != owner => {
            Err(Error::PermissionDenied("endpoints of another owner are out of reach".to_owned()))
        }
        _ => Ok(owner),
    }
}

/// The tenant a `tenant:<id>` owner's endpoint is visible to.
fn owner_tenant(owner: &str) -> Option<String> {
    owner.strip_prefix("tenant:").map(str::to_owned)
}

/// Who switched an endpoint off, for `disabled_reason`; names no secret.
fn disabled_by(actor: &Actor) -> String {
    format!("disabled by {}", actor.describe())
}

/// What the audit trail keeps of an endpoint: no secret (sealed or not), and
/// the url without its query, which may carry a token.
fn audit_snapshot(row: &endpoint::Model) -> Value {
    json!({
        "owner": row.owner,
        "name": row.name,
        "url": audit_url(&row.url),
        "status": row.status,
        "description": row.description,
        "disabled_reason": row.disabled_reason,
        "rotation_overlap_until": row.previous_secret_until.map(|t| t.to_rfc3339()),
    })
}

fn with_secret(row: &endpoint::Model, secret: Option<&SigningSecret>, created: bool) -> UpsertEndpointResponse {
    UpsertEndpointResponse {
        endpoint: Some(endpoint_to_proto(row)),
        signing_secret: secret.map(SigningSecret::to_whsec).unwrap_or_default(),
        created,
    }
}

impl Api {
    /// The endpoint `raw_id` as the caller may see it, read from the writer
    /// (callers write it next).
    async fn endpoint_in_scope(&self, actor: &Actor, raw_id: &str) -> Result<endpoint::Model> {
        let id = parse_uuid("id", raw_id)?;
        store::find_endpoint(self.state.db.writer(), &id, actor.owner_scope().as_deref())
            .await?
            .ok_or(Error::NotFound("endpoint"))
    }
}

#[tonic::async_trait]
impl EndpointService for Api {
    async fn upsert_endpoint(
        &self,
        req: Request<UpsertEndpointRequest>,
    ) -> Result<Response<UpsertEndpointResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("endpoint:write")?;
            let up = EndpointUpsert::parse(req.get_ref())?;
            let owner = resolve_owner(up.owner.as_ref(), actor.owner_scope().as_deref(), actor.default_owner())?;
            let description = up.description.into_inner();
            let upsert = || store::EndpointUpsert {
                tenant_id: owner_tenant(&owner),
                owner: owner.clone(),
                name: up.name.as_str().to_owned(),
                url: up.url.as_str().to_owned(),
                description: (!description.is_empty()).then(|| description.clone()),
            };
            let secret = SigningSecret::generate();
            let sealed = state.seal(&secret);
            let now = state.clock.now();
            let conn = state.db.writer();
            // Two first upserts of one (owner, name) race on the unique key;
            // the loser finds the winner's row the second time and updates it.
            let (row, created) = match store::upsert_endpoint(conn, upsert(), sealed.clone(), now).await {
                Ok(done) => done,
                Err(e) if matches!(classify_db_err(&e), DbErrorKind::Duplicate) => {
                    store::upsert_endpoint(conn, upsert(), sealed, now)
                        .await
                        .map_err(|e| Error::duplicate_as(e, "endpoint"))?
                }
                Err(e) => return Err(e.into()),
            };
            state.forget_endpoint(&row.id).await;
            let operation = if created { "endpoint.create" } else { "endpoint.update" };
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, row.tenant_id.as_deref(), operation, "endpoint", &row.id)
                    .values(None, Some(audit_snapshot(&row))),
            );
            Ok(with_secret(&row, created.then_some(&secret), created))
        })
        .await
    }

    async fn get_endpoint(&self, req: Request<GetEndpointRequest>) -> Result<Response<GetEndpointResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("endpoint:read")?;
            let r = req.get_ref();
            let id = parse_uuid("id", &r.id)?;
            let row = store::find_endpoint(state.db.reader(), &id, actor.owner_scope().as_deref())
                .await?
                .ok_or(Error::NotFound("endpoint"))?;
            let signing_secret = if r.include_secret {
                actor.require("endpoint:write")?;
                state.open(&row.signing_secret)?.to_whsec()
            } else {
                String::new()
            };
            Ok(GetEndpointResponse { endpoint: Some(endpoint_to_proto(&row)), signing_secret })
        })
        .await
    }

    async fn list_endpoints(
        &self,
        req: Request<ListEndpointsRequest>,
    ) -> Result<Response<ListEndpointsResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("endpoint:read")?;
            let r = req.get_ref();
            let requested =
                if r.owner.trim().is_empty() { None } else { Some(EndpointOwner::parse("owner", &r.owner)?) };
            let owner = match actor.owner_scope() {
                None => requested.map(|o| o.to_string()),
                Some(own) => Some(resolve_owner(requested.as_ref(), Some(&own), own.clone())?),
            };
            let status = status_filter(r.status)?;
            let (limit, cursor) = page(r.page.as_ref())?;
            let (rows, next) =
                store::list_endpoints(state.db.reader(), owner.as_deref(), status, cursor.as_ref(), limit).await?;
            Ok(ListEndpointsResponse {
                endpoints: rows.iter().map(endpoint_to_proto).collect(),
                page: Some(wework_kit::pagination::next_page(next)),
            })
        })
        .await
    }

    async fn set_endpoint_enabled(
        &self,
        req: Request<SetEndpointEnabledRequest>,
    ) -> Result<Response<pb::Endpoint>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("endpoint:write")?;
            let r = req.get_ref();
            let current = self.endpoint_in_scope(&actor, &r.id).await?;
            let old = audit_snapshot(&current);
            let reason = (!r.enabled).then(|| disabled_by(&actor));
            let row =
                store::set_endpoint_enabled(state.db.writer(), current, r.enabled, reason, state.clock.now()).await?;
            state.forget_endpoint(&row.id).await;
            let operation = if r.enabled { "endpoint.enable" } else { "endpoint.disable" };
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, row.tenant_id.as_deref(), operation, "endpoint", &row.id)
                    .values(Some(old), Some(audit_snapshot(&row))),
            );
            Ok(endpoint_to_proto(&row))
        })
        .await
    }

    async fn rotate_endpoint_secret(
        &self,
        req: Request<RotateEndpointSecretRequest>,
    ) -> Result<Response<UpsertEndpointResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require("endpoint:write")?;
            let r = req.get_ref();
            let overlap = parse_overlap("overlap_seconds", r.overlap_seconds)?;
            let current = self.endpoint_in_scope(&actor, &r.id).await?;
            let old = audit_snapshot(&current);
            let secret = SigningSecret::generate();
            let now = state.clock.now();
            let until = now + chrono::Duration::from_std(overlap).map_err(|e| Error::Internal(e.into()))?;
            let row =
                store::rotate_endpoint_secret(state.db.writer(), current, state.seal(&secret), until, now).await?;
            state.forget_endpoint(&row.id).await;
            tracing::info!(id = %row.id, %until, "endpoint signing secret rotated");
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, row.tenant_id.as_deref(), "endpoint.rotate_secret", "endpoint", &row.id)
                    .values(Some(old), Some(audit_snapshot(&row))),
            );
            Ok(with_secret(&row, Some(&secret), false))
        })
        .await
    }
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
