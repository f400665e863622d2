//! ApiKeyService. The full key is returned once at creation; only its prefix
//! and SHA-256 are stored. A key never holds more than its creator.

use sea_orm::TransactionTrait;
use tonic::{Request, Response, Status};
use wework_kit::events::API_KEY_REVOKED;
use wework_proto::common::Event;
use wework_proto::user::{self as pb, api_key_service_server::ApiKeyService};

use super::audit::{self, Entry};
use super::convert::{non_empty, opt_from_ts, opt_ts, ts};
use super::{Api, respond};
use crate::domain::{rbac, tokens};
use crate::error::{Error, Result};
use crate::store::{self, ApiKeyModel};

fn to_proto(k: ApiKeyModel, now: chrono::DateTime<chrono::Utc>) -> pb::ApiKey {
    let status = if k.status == store::STATUS_ACTIVE { pb::ApiKeyStatus::Active } else { pb::ApiKeyStatus::Revoked };
    pb::ApiKey {
        expired: k.expires_at.is_some_and(|e| e <= now),
        id: k.id,
        tenant_id: k.tenant_id,
        name: k.name,
        prefix: k.prefix,
        permissions: k.permissions,
        status: status as i32,
        expires_at: opt_ts(k.expires_at),
        last_used_at: opt_ts(k.last_used_at),
        created_by: k.created_by,
        created_at: Some(ts(k.created_at)),
    }
}

#[tonic::async_trait]
impl ApiKeyService for Api {
    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("api_key:create")?;
            let uid = call.user_id()?.to_owned();
            let r = req.into_inner();
            let name = non_empty(&r.name).ok_or_else(|| Error::invalid("name", "required"))?;
            if name.chars().count() > 128 {
                return Err(Error::invalid("name", "at most 128 characters"));
            }
            let mut perms = Vec::new();
            for p in &r.permissions {
                rbac::validate_permission(p.trim()).map_err(|e| e.in_field("permissions"))?;
                perms.push(p.trim().to_owned());
            }
            if perms.is_empty() {
                perms = call.principal.permissions.clone();
            } else if !rbac::is_subset(&call.principal.permissions, &perms) {
                return Err(Error::PermissionDenied("an API key cannot hold permissions you do not hold".into()));
            }
            perms.sort();
            perms.dedup();
            let now = self.state.clock.now();
            let expires_at = opt_from_ts("expires_at", r.expires_at.as_ref())?;
            if expires_at.is_some_and(|e| e <= now) {
                return Err(Error::invalid("expires_at", "must be in the future"));
            }
            let tid = call.principal.tenant_id.clone();
            let credential = tokens::new_api_key();
            let txn = self.state.db.writer().begin().await?;
            let key = store::insert_api_key(
                &txn,
                store::NewApiKey {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_id: tid.clone(),
                    created_by: uid,
                    name: name.to_owned(),
                    prefix: credential.prefix.clone(),
                    key_hash: credential.hash.clone(),
                    permissions: perms.clone(),
                    expires_at,
                    created_at: now,
                },
            )
            .await?;
            let entry = Entry::by(&call, &tid, "api_key.create", "api_key", &key.id)
                .values(None, Some(serde_json::json!({"name": key.name, "prefix": key.prefix, "permissions": perms})));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            Ok(pb::CreateApiKeyResponse { api_key: Some(to_proto(key, now)), key: credential.full_key })
        })
        .await
    }

    async fn list_api_keys(
        &self,
        req: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("api_key:read")?;
            let r = req.into_inner();
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let status = match pb::ApiKeyStatus::try_from(r.status).unwrap_or_default() {
                pb::ApiKeyStatus::Unspecified => None,
                pb::ApiKeyStatus::Active => Some(store::STATUS_ACTIVE),
                pb::ApiKeyStatus::Revoked => Some(store::STATUS_REVOKED),
            };
            let (rows, next) =
                store::list_api_keys(self.state.db.reader(), &call.principal.tenant_id, status, cursor, limit).await?;
            let now = self.state.clock.now();
            Ok(pb::ListApiKeysResponse {
                api_keys: rows.into_iter().map(|k| to_proto(k, now)).collect(),
                page: Some(super::next_page(next)),
            })
        })
        .await
    }

    async fn revoke_api_key(&self, req: Request<pb::RevokeApiKeyRequest>) -> Result<Response<pb::ApiKey>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("api_key:revoke")?;
            let id = non_empty(&req.get_ref().api_key_id)
                .ok_or_else(|| Error::invalid("api_key_id", "required"))?
                .to_owned();
            let tid = call.principal.tenant_id.clone();
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let key = store::revoke_api_key(&txn, &tid, &id, now).await?.ok_or(Error::NotFound("api key"))?;
            audit::record_in(&txn, &self.state, Entry::by(&call, &tid, "api_key.revoke", "api_key", &id), &call.meta)
                .await?;
            txn.commit().await?;
            // Gateways remember authenticated keys for a while: tell them now.
            let notice = Event {
                id: key.id.clone(),
                tenant_id: API_KEY_REVOKED.to_owned(),
                r#type: API_KEY_REVOKED.to_owned(),
                source: "user-service".to_owned(),
                subject: key.key_hash.clone(),
                ..Event::default()
            };
            self.state.notices.announce(&notice).await;
            Ok(to_proto(key, now))
        })
        .await
    }
}
