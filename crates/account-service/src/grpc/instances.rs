//! `InstanceService`: the platform's registry of protocol instances. Tokens
//! and proxy passwords are sealed before they are stored and never returned.

use serde_json::json;
use tonic::{Request, Response, Status};
use wework_client::protocol::ProxyConfig;
use wework_proto::account::{self as pb, instance_service_server::InstanceService};

use super::convert::{instance_status_from_proto, instance_to_proto};
use super::{Api, page, respond};
use crate::domain::{FieldError, validate};
use crate::error::{Error, Result};
use crate::store::{self, entity::instance, instance_status};

/// Splits a validated proxy into the stored JSON (no password) and the
/// password to seal.
fn stored_proxy(proxy: &ProxyConfig) -> (String, Option<String>) {
    let mut public = proxy.clone();
    let password = public.password.take();
    (store::to_json(&public), password)
}

#[tonic::async_trait]
impl InstanceService for Api {
    async fn register_instance(
        &self,
        req: Request<pb::RegisterInstanceRequest>,
    ) -> Result<Response<pb::Instance>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require_platform("instance:write")?;
            let r = req.get_ref();
            let mut errors = Vec::new();
            let name = validate::instance_name(&r.name).map_err(|e| errors.push(e)).ok();
            let api_url = validate::api_url(&r.api_url).map_err(|e| errors.push(e)).ok();
            let token = validate::token(&r.token).map_err(|e| errors.push(e)).ok();
            let max = validate::max_accounts(if r.max_accounts == 0 { 100 } else { r.max_accounts })
                .map_err(|e| errors.push(e))
                .ok();
            let region = validate::region(&r.region).map_err(|e| errors.push(e)).ok();
            let proxy = r.proxy.as_ref().map(validate::proxy).transpose().map_err(|e| errors.push(e)).ok().flatten();
            let (Some(name), Some(api_url), Some(token), Some(max), Some(region)) = (name, api_url, token, max, region)
            else {
                return Err(Error::Invalid(errors));
            };
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let (proxy_json, proxy_password) = proxy.as_ref().map(stored_proxy).unzip();
            let now = self.state.clock.now();
            let row = instance::Model {
                id: store::new_id(),
                name,
                api_url,
                token_sealed: self.state.seal(&token),
                status: instance_status::ACTIVE.to_owned(),
                max_accounts: max,
                account_count: 0,
                proxy_config: proxy_json,
                proxy_password_sealed: proxy_password.flatten().map(|p| self.state.seal(&p)),
                region,
                boot_id: String::new(),
                version: String::new(),
                restart_count: 0,
                last_heartbeat_at: None,
                created_at: now,
                updated_at: now,
            };
            let row = store::insert_instance(self.state.db.writer(), row)
                .await
                .map_err(|e| Error::duplicate_as(e, "instance"))?;
            let entry = caller.audit("", "instance.register", "instance", &row.id);
            self.state.audit.record(entry.values(None, Some(json!({"name": row.name, "api_url": row.api_url}))));
            Ok(instance_to_proto(&row))
        })
        .await
    }

    async fn update_instance(&self, req: Request<pb::UpdateInstanceRequest>) -> Result<Response<pb::Instance>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require_platform("instance:write")?;
            let r = req.get_ref();
            let mut row =
                store::find_instance(self.state.db.writer(), &r.id).await?.ok_or(Error::NotFound("instance"))?;
            let before = json!({"api_url": row.api_url, "status": row.status, "max_accounts": row.max_accounts});
            if let Some(url) = &r.api_url {
                row.api_url = validate::api_url(url)?;
            }
            if let Some(token) = &r.token {
                row.token_sealed = self.state.seal(&validate::token(token)?);
            }
            if let Some(max) = r.max_accounts {
                row.max_accounts = validate::max_accounts(max)?;
            }
            if let Some(region) = &r.region {
                row.region = validate::region(region)?;
            }
            if r.status != 0 {
                row.status = instance_status_from_proto(r.status)
                    .ok_or_else(|| FieldError::new("status", "unknown status"))?
                    .to_owned();
            }
            if r.clear_proxy {
                row.proxy_config = None;
                row.proxy_password_sealed = None;
            } else if let Some(p) = &r.proxy {
                let proxy = validate::proxy(p)?;
                let previous: Option<ProxyConfig> =
                    row.proxy_config.as_deref().and_then(|j| serde_json::from_str(j).ok());
                let same_login =
                    previous.is_some_and(|prev| prev.host == proxy.host && prev.username == proxy.username);
                let (json, password) = stored_proxy(&proxy);
                row.proxy_config = Some(json);
                row.proxy_password_sealed = match password {
                    Some(pw) => Some(self.state.seal(&pw)),
                    // An empty password keeps the stored one for the same login only.
                    None if same_login => row.proxy_password_sealed.take(),
                    None => None,
                };
            }
            row.updated_at = self.state.clock.now();
            let row = store::save_instance(self.state.db.writer(), row).await?;
            let entry = caller.audit("", "instance.update", "instance", &row.id);
            let after = json!({"api_url": row.api_url, "status": row.status, "max_accounts": row.max_accounts});
            self.state.audit.record(entry.values(Some(before), Some(after)));
            Ok(instance_to_proto(&row))
        })
        .await
    }

    async fn get_instance(&self, req: Request<pb::GetInstanceRequest>) -> Result<Response<pb::Instance>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require_platform("instance:read")?;
            let row = store::find_instance(self.state.db.reader(), &req.get_ref().id)
                .await?
                .ok_or(Error::NotFound("instance"))?;
            Ok(instance_to_proto(&row))
        })
        .await
    }

    async fn list_instances(
        &self,
        req: Request<pb::ListInstancesRequest>,
    ) -> Result<Response<pb::ListInstancesResponse>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require_platform("instance:read")?;
            let r = req.get_ref();
            let (limit, cursor) = page(r.page.as_ref())?;
            let status = match r.status {
                0 => None,
                v => Some(instance_status_from_proto(v).ok_or_else(|| FieldError::new("status", "unknown status"))?),
            };
            let (rows, next) = store::list_instances(self.state.db.reader(), status, cursor.as_ref(), limit).await?;
            Ok(pb::ListInstancesResponse {
                instances: rows.iter().map(instance_to_proto).collect(),
                page: Some(wework_kit::pagination::next_page(next)),
            })
        })
        .await
    }

    async fn instance_heartbeat(
        &self,
        req: Request<pb::InstanceHeartbeatRequest>,
    ) -> Result<Response<pb::Instance>, Status> {
        respond(async {
            let caller = self.state.caller(&req).await?;
            caller.require_platform("instance:write")?;
            let r = req.get_ref();
            if r.boot_id.len() > 64 {
                return Err(FieldError::new("boot_id", "must be at most 64 characters").into());
            }
            if r.version.len() > 64 {
                return Err(FieldError::new("version", "must be at most 64 characters").into());
            }
            let now = self.state.clock.now();
            let restarted =
                store::record_instance_heartbeat(self.state.db.writer(), &r.id, &r.boot_id, &r.version, now)
                    .await?
                    .ok_or(Error::NotFound("instance"))?;
            if restarted {
                crate::worker::watchdog::instance_restarted(&self.state, &r.id).await?;
            }
            let row = store::find_instance(self.state.db.writer(), &r.id).await?.ok_or(Error::NotFound("instance"))?;
            Ok(instance_to_proto(&row))
        })
        .await
    }
}
