//! `BusinessSystemService`: registering, rotating, updating and reading the
//! task center's callers, plus the built-in `platform` system created at
//! startup.
//!
//! Contract: management is for platform administrators only; a business
//! system may read itself, and any other caller sees NotFound. The api secret
//! and the signing secret leave the service exactly once, in the response that
//! created them; only a SHA-256 of the api secret and the sealed signing secret
//! are stored, and neither ever appears in a `BusinessSystem` message (nor in
//! an audit row: see `audit_snapshot`). Every write evicts the cached row
//! (authentication reads it by api key) and is audited, platform-wide.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tonic::{Request, Response, Status};
use wework_kit::audit::RequestMeta;
use wework_kit::crypto::{SecretBox, random_token, sha256_hex};
use wework_kit::db::Db;
use wework_kit::errors::{DbErrorKind, classify_db_err};
use wework_proto::task::{
    self as pb, GetBusinessSystemRequest, ListBusinessSystemsRequest, ListBusinessSystemsResponse,
    RegisterBusinessSystemRequest, RegisterBusinessSystemResponse, RotateBusinessSecretsRequest,
    UpdateBusinessSystemRequest, business_system_service_server::BusinessSystemService,
};

use super::context::Actor;
use super::convert::{ts, ts_opt};
use super::{Api, page, respond};
use crate::delivery::SigningSecret;
use crate::domain::model::{BusinessStatus, BusinessSystemUpdate, NewBusinessSystem};
use crate::domain::validate::{parse_overlap, parse_uuid};
use crate::error::{Error, Result};
use crate::store::entity::business_system;
use crate::store::{self, BusinessChanges, PLATFORM_BUSINESS_CODE};

/// Prefix of every api key, so a leaked key is recognisable (secret scanners).
pub const API_KEY_PREFIX: &str = "bk_";
/// Random bytes behind an api key: 18 bytes are 24 base64url characters.
const API_KEY_BYTES: usize = 18;
/// Random bytes of an api secret (43 base64url characters).
const API_SECRET_BYTES: usize = 32;

/// Freshly issued credentials: the plain values go to the caller once, the
/// digest and the sealed secret to the row.
struct Credentials {
    api_secret: String,
    api_secret_hash: String,
    signing: SigningSecret,
    sealed_signing: String,
}

impl Credentials {
    fn issue(secrets: &SecretBox) -> Self {
        let api_secret = random_token(API_SECRET_BYTES);
        let signing = SigningSecret::generate();
        Self {
            api_secret_hash: sha256_hex(api_secret.as_bytes()),
            sealed_signing: crate::state::seal_signing_secret(secrets, &signing),
            api_secret,
            signing,
        }
    }
}

fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token(API_KEY_BYTES))
}

/// The caller-facing view of a row: no secret, no digest.
pub fn business_to_proto(row: &business_system::Model) -> pb::BusinessSystem {
    let status = match BusinessStatus::from_stored(&row.status) {
        Some(BusinessStatus::Active) => pb::BusinessStatus::Active,
        Some(BusinessStatus::Disabled) => pb::BusinessStatus::Disabled,
        None => pb::BusinessStatus::Unspecified,
    };
    pb::BusinessSystem {
        id: row.id.clone(),
        business_code: row.business_code.clone(),
        business_name: row.business_name.clone(),
        api_key: row.api_key.clone(),
        rate_limit: u32::try_from(row.rate_limit).unwrap_or(0),
        status: status.into(),
        description: row.description.clone().unwrap_or_default(),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
        previous_secret_until: ts_opt(row.previous_secret_until),
    }
}

/// What the audit trail keeps of a row: no secret, digest or key. No key
/// names a secret either: the user service blanks any member called `*secret*`.
fn audit_snapshot(row: &business_system::Model) -> Value {
    json!({
        "business_code": row.business_code,
        "business_name": row.business_name,
        "rate_limit": row.rate_limit,
        "status": row.status,
        "description": row.description,
        "rotation_overlap_until": row.previous_secret_until.map(|t| t.to_rfc3339()),
    })
}

fn with_secrets(row: &business_system::Model, creds: &Credentials) -> RegisterBusinessSystemResponse {
    RegisterBusinessSystemResponse {
        business_system: Some(business_to_proto(row)),
        api_secret: creds.api_secret.clone(),
        signing_secret: creds.signing.to_whsec(),
    }
}

/// Finds the built-in `platform` system or creates it with random secrets
/// nobody is told (service principals act as it without them; an
/// administrator who needs its signing secret rotates it). Replicas starting
/// together may both insert: the loser of the unique key reads the winner's row.
pub async fn ensure_platform_system(
    db: &Db,
    secrets: &SecretBox,
    now: DateTime<Utc>,
) -> anyhow::Result<business_system::Model> {
    let conn = db.writer();
    if let Some(found) = store::find_business_by_code(conn, PLATFORM_BUSINESS_CODE).await? {
        return Ok(found);
    }
    let creds = Credentials::issue(secrets);
    let new = store::NewBusinessSystem {
        id: store::new_id(),
        business_code: PLATFORM_BUSINESS_CODE.to_owned(),
        business_name: "Platform".to_owned(),
        api_key: new_api_key(),
        api_secret_hash: creds.api_secret_hash,
        sealed_signing_secret: creds.sealed_signing,
        rate_limit: 0,
        description: Some("Built-in: platform services act as this system".to_owned()),
    };
    match store::insert_business_system(conn, new, now).await {
        Ok(row) => {
            tracing::info!(id = %row.id, "created the built-in platform business system");
            Ok(row)
        }
        Err(e) if matches!(classify_db_err(&e), DbErrorKind::Duplicate) => {
            store::find_business_by_code(conn, PLATFORM_BUSINESS_CODE)
                .await?
                .ok_or_else(|| anyhow::anyhow!("platform business system vanished after a duplicate insert"))
        }
        Err(e) => Err(e.into()),
    }
}

impl Api {
    async fn business_for_write(&self, id: &str) -> Result<business_system::Model> {
        store::find_business_system(self.state.db.writer(), id).await?.ok_or(Error::NotFound("business system"))
    }
}

#[tonic::async_trait]
impl BusinessSystemService for Api {
    async fn register_business_system(
        &self,
        req: Request<RegisterBusinessSystemRequest>,
    ) -> Result<Response<RegisterBusinessSystemResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require_platform("business_system:write")?;
            let new = NewBusinessSystem::parse(req.get_ref())?;
            let creds = Credentials::issue(&state.secrets);
            let description = new.description.into_inner();
            let row = store::insert_business_system(
                state.db.writer(),
                store::NewBusinessSystem {
                    id: store::new_id(),
                    business_code: new.code.into_inner(),
                    business_name: new.name.into_inner(),
                    api_key: new_api_key(),
                    api_secret_hash: creds.api_secret_hash.clone(),
                    sealed_signing_secret: creds.sealed_signing.clone(),
                    rate_limit: new.rate_limit.get(),
                    description: (!description.is_empty()).then_some(description),
                },
                state.clock.now(),
            )
            .await
            .map_err(|e| Error::duplicate_as(e, "business system"))?;
            tracing::info!(id = %row.id, code = %row.business_code, "business system registered");
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, None, "business_system.register", "business_system", &row.id)
                    .values(None, Some(audit_snapshot(&row))),
            );
            Ok(with_secrets(&row, &creds))
        })
        .await
    }

    async fn rotate_business_secrets(
        &self,
        req: Request<RotateBusinessSecretsRequest>,
    ) -> Result<Response<RegisterBusinessSystemResponse>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require_platform("business_system:write")?;
            let r = req.get_ref();
            let id = parse_uuid("id", &r.id)?;
            let overlap = parse_overlap("overlap_seconds", r.overlap_seconds)?;
            let current = self.business_for_write(&id).await?;
            let old = audit_snapshot(&current);
            let creds = Credentials::issue(&state.secrets);
            let now = state.clock.now();
            let until = now + chrono::Duration::from_std(overlap).map_err(|e| Error::Internal(e.into()))?;
            let row = store::rotate_business_secrets(
                state.db.writer(),
                current,
                creds.api_secret_hash.clone(),
                creds.sealed_signing.clone(),
                until,
                now,
            )
            .await?;
            state.forget_business(&row).await;
            tracing::info!(id = %row.id, %until, "business system secrets rotated");
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, None, "business_system.rotate_secrets", "business_system", &row.id)
                    .values(Some(old), Some(audit_snapshot(&row))),
            );
            Ok(with_secrets(&row, &creds))
        })
        .await
    }

    async fn update_business_system(
        &self,
        req: Request<UpdateBusinessSystemRequest>,
    ) -> Result<Response<pb::BusinessSystem>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            actor.require_platform("business_system:write")?;
            let update = BusinessSystemUpdate::parse(req.get_ref())?;
            let current = self.business_for_write(&update.id).await?;
            if update.status == Some(BusinessStatus::Disabled) && current.business_code == PLATFORM_BUSINESS_CODE {
                return Err(Error::precondition(
                    "PLATFORM_SYSTEM",
                    "the built-in platform business system cannot be disabled",
                ));
            }
            let old = audit_snapshot(&current);
            let changes = BusinessChanges {
                business_name: update.name.map(|n| n.into_inner()),
                rate_limit: update.rate_limit.map(|r| r.get()),
                status: update.status.map(BusinessStatus::as_str),
                description: update.description.map(|d| d.into_inner()),
            };
            let row = store::update_business_system(state.db.writer(), current, changes, state.clock.now()).await?;
            state.forget_business(&row).await;
            let meta = RequestMeta::from_request(&req);
            state.audit.record(
                actor
                    .audit(&meta, None, "business_system.update", "business_system", &row.id)
                    .values(Some(old), Some(audit_snapshot(&row))),
            );
            Ok(business_to_proto(&row))
        })
        .await
    }

    async fn get_business_system(
        &self,
        req: Request<GetBusinessSystemRequest>,
    ) -> Result<Response<pb::BusinessSystem>, Status> {
        respond(async {
            let state = &self.state;
            let actor = state.actor(&req).await?;
            let id = parse_uuid("id", &req.get_ref().id)?;
            match &actor {
                Actor::Business(own) if own.id == id => Ok(business_to_proto(own)),
                Actor::Platform(_) => {
                    actor.require_platform("business_system:read")?;
                    let row = store::find_business_system(state.db.reader(), &id)
                        .await?
                        .ok_or(Error::NotFound("business system"))?;
                    Ok(business_to_proto(&row))
                }
                Actor::Business(_) | Actor::Tenant(_) => Err(Error::NotFound("business system")),
            }
        })
        .await
    }

    async fn list_business_systems(
        &self,
        req: Request<ListBusinessSystemsRequest>,
    ) -> Result<Response<ListBusinessSystemsResponse>, Status> {
        respond(async {
            let state = &self.state;
            state.actor(&req).await?.require_platform("business_system:read")?;
            let r = req.get_ref();
            let status = BusinessStatus::from_proto("status", r.status)?;
            let (limit, cursor) = page(r.page.as_ref())?;
            let (rows, next) = store::list_business_systems(
                state.db.reader(),
                status.map(BusinessStatus::as_str),
                cursor.as_ref(),
                limit,
            )
            .await?;
            Ok(ListBusinessSystemsResponse {
                business_systems: rows.iter().map(business_to_proto).collect(),
                page: Some(wework_kit::pagination::next_page(next)),
            })
        })
        .await
    }
}

#[cfg(test)]
#[path = "business_tests.rs"]
mod tests;
