//! TenantService. Creating, listing, suspending and deleting tenants is for
//! platform super-admins; a tenant's own admins read and update it (quotas
//! stay the platform's to change). Tenant rows are cached because every
//! login, refresh and quota check reads them.
//!
//! A `webhook_url` that is set, changed or cleared is handed to the task
//! center ([`crate::webhooks`]) inside the write's transaction, before the
//! commit: if the task center cannot take it, nothing changes here either.

use sea_orm::TransactionTrait;
use tonic::{Request, Response, Status};
use wework_proto::user::{self as pb, tenant_service_server::TenantService};

use super::audit::{self, Entry};
use super::context::Call;
use super::convert::{json_to_struct, non_empty, struct_to_json, ts};
use super::{Api, respond};
use crate::domain::rbac;
use crate::domain::validate::{Quota, TenantCode, TenantName, WebhookUrl};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, TenantModel};

pub const DEFAULT_MAX_ACCOUNTS: i32 = 10;
pub const DEFAULT_MAX_DAILY_MESSAGES: i32 = 10_000;

pub fn cache_key(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}")
}

/// A tenant by id through the cache; deleted tenants read as absent.
pub async fn cached_tenant(state: &AppState, tenant_id: &str) -> Result<Option<TenantModel>> {
    let db = state.db.clone();
    let id = tenant_id.to_owned();
    let row: Option<TenantModel> = state
        .cache
        .get_or_load(&cache_key(tenant_id), None, || async move {
            Ok::<_, Error>(store::find_tenant(db.reader(), &id).await?)
        })
        .await?;
    Ok(row.filter(store::tenant_not_deleted))
}

pub fn to_proto(t: TenantModel) -> pb::Tenant {
    let status = match t.status.as_str() {
        store::STATUS_ACTIVE => pb::TenantStatus::Active,
        store::STATUS_SUSPENDED => pb::TenantStatus::Suspended,
        _ => pb::TenantStatus::Deleted,
    };
    let config = t.config_value().ok().flatten().as_ref().and_then(json_to_struct);
    pb::Tenant {
        id: t.id,
        tenant_code: t.tenant_code,
        name: t.name,
        status: status as i32,
        max_accounts: t.max_accounts,
        max_daily_messages: t.max_daily_messages,
        webhook_url: t.webhook_url.unwrap_or_default(),
        config,
        created_at: Some(ts(t.created_at)),
        updated_at: Some(ts(t.updated_at)),
    }
}

fn snapshot(t: &TenantModel) -> serde_json::Value {
    serde_json::json!({
        "tenant_code": t.tenant_code, "name": t.name, "status": t.status,
        "max_accounts": t.max_accounts, "max_daily_messages": t.max_daily_messages, "webhook_url": t.webhook_url,
    })
}

/// Creates a tenant with its system roles in one transaction.
pub async fn create_tenant<C: sea_orm::ConnectionTrait>(
    conn: &C,
    new: store::NewTenant,
    with_super_admin_role: bool,
) -> Result<TenantModel> {
    let tenant = store::insert_tenant(conn, new).await.map_err(|e| Error::duplicate_as(e, "tenant"))?;
    let mut roles = rbac::system_roles();
    if with_super_admin_role {
        roles.push(rbac::super_admin_role());
    }
    for role in roles {
        store::insert_role(
            conn,
            store::NewRole {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: tenant.id.clone(),
                name: role.name.to_owned(),
                description: role.description.to_owned(),
                is_system: true,
                permissions: role.permissions.iter().map(|p| (*p).to_owned()).collect(),
                created_at: tenant.created_at,
            },
        )
        .await?;
    }
    Ok(tenant)
}

impl Api {
    async fn tenant_for(&self, call: &Call, requested: &str) -> Result<TenantModel> {
        let id = call.target_tenant(requested)?;
        cached_tenant(&self.state, &id).await?.ok_or(Error::NotFound("tenant"))
    }

    async fn set_status(
        &self,
        call: &Call,
        tenant_id: &str,
        status: &'static str,
        reason: Option<String>,
    ) -> Result<pb::Tenant> {
        call.require_platform_admin()?;
        let tenant_id = non_empty(tenant_id).ok_or_else(|| Error::invalid("tenant_id", "required"))?;
        if status == store::STATUS_DELETED {
            // A deleted tenant's webhook stops before the tenant goes (the
            // task center unreachable → UNAVAILABLE, nothing deleted). Done
            // outside the transaction: no writer waits on the network.
            let current = store::find_tenant(self.state.db.writer(), tenant_id).await?;
            if current.as_ref().is_some_and(|t| t.webhook_url.is_some()) {
                self.state.webhooks.sync(tenant_id, None).await?;
            }
        }
        let now = self.state.clock.now();
        let txn = self.state.db.writer().begin().await?;
        let old = store::find_tenant(&txn, tenant_id)
            .await?
            .filter(store::tenant_not_deleted)
            .ok_or(Error::NotFound("tenant"))?;
        if old.tenant_code == wework_kit::auth::claims::PLATFORM_TENANT_CODE {
            return Err(Error::precondition("PLATFORM_TENANT", "the platform tenant cannot change status"));
        }
        let new =
            store::set_tenant_status(&txn, tenant_id, status, reason, now).await?.ok_or(Error::NotFound("tenant"))?;
        // Suspension and deletion end every session at once, so the tenant's
        // users are out of this service now and out of refresh for good.
        let revoked = if status == store::STATUS_ACTIVE {
            Vec::new()
        } else {
            store::revoke_tenant_sessions(&txn, tenant_id, &format!("tenant_{status}"), now).await?
        };
        let op = format!("tenant.{status}");
        let entry =
            Entry::by(call, tenant_id, &op, "tenant", tenant_id).values(Some(snapshot(&old)), Some(snapshot(&new)));
        audit::record_in(&txn, &self.state, entry, &call.meta).await?;
        txn.commit().await?;
        self.state.forget_sessions(&revoked).await;
        self.state.cache.invalidate(&[cache_key(tenant_id)]).await;
        Ok(to_proto(new))
    }
}

#[tonic::async_trait]
impl TenantService for Api {
    async fn create_tenant(&self, req: Request<pb::CreateTenantRequest>) -> Result<Response<pb::Tenant>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require_platform_admin()?;
            let r = req.into_inner();
            let mut errors = Vec::new();
            let code = TenantCode::parse(&r.tenant_code).map_err(|e| errors.push(e)).ok();
            let name = TenantName::parse(&r.name).map_err(|e| errors.push(e)).ok();
            let max_accounts = match r.max_accounts {
                0 => Some(DEFAULT_MAX_ACCOUNTS),
                n => Quota::accounts(i64::from(n)).map(Quota::get).map_err(|e| errors.push(e)).ok(),
            };
            let max_daily = match r.max_daily_messages {
                0 => Some(DEFAULT_MAX_DAILY_MESSAGES),
                n => Quota::daily_messages(i64::from(n)).map(Quota::get).map_err(|e| errors.push(e)).ok(),
            };
            let webhook = WebhookUrl::parse_optional(&r.webhook_url).map_err(|e| errors.push(e)).ok().flatten();
            let (Some(code), Some(name), Some(max_accounts), Some(max_daily)) = (code, name, max_accounts, max_daily)
            else {
                return Err(Error::Invalid(errors));
            };
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let tenant = create_tenant(
                &txn,
                store::NewTenant {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_code: code.into_inner(),
                    name: name.into_inner(),
                    max_accounts,
                    max_daily_messages: max_daily,
                    webhook_url: webhook.map(|w| w.into_inner()),
                    config: r.config.as_ref().map(struct_to_json),
                    created_at: now,
                },
                false,
            )
            .await?;
            if let Some(url) = tenant.webhook_url.as_deref() {
                self.state.webhooks.sync(&tenant.id, Some(url)).await?;
            }
            let entry = Entry::by(&call, &tenant.id, "tenant.create", "tenant", &tenant.id)
                .values(None, Some(snapshot(&tenant)));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            Ok(to_proto(tenant))
        })
        .await
    }

    async fn get_tenant(&self, req: Request<pb::GetTenantRequest>) -> Result<Response<pb::Tenant>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("tenant:read")?;
            Ok(to_proto(self.tenant_for(&call, &req.get_ref().tenant_id).await?))
        })
        .await
    }

    async fn update_tenant(&self, req: Request<pb::UpdateTenantRequest>) -> Result<Response<pb::Tenant>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("tenant:update")?;
            let r = req.into_inner();
            let tenant_id = call.target_tenant(&r.tenant_id)?;
            let mut errors = Vec::new();
            let name = r.name.as_deref().map(TenantName::parse).transpose().map_err(|e| errors.push(e)).ok().flatten();
            let quotas_requested = r.max_accounts.is_some() || r.max_daily_messages.is_some();
            if quotas_requested && !call.principal.is_super_admin() {
                return Err(Error::PermissionDenied("only platform administrators change quotas".into()));
            }
            let max_accounts = r
                .max_accounts
                .map(|n| Quota::accounts(i64::from(n)).map(Quota::get))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten();
            let max_daily = r
                .max_daily_messages
                .map(|n| Quota::daily_messages(i64::from(n)).map(Quota::get))
                .transpose()
                .map_err(|e| errors.push(e))
                .ok()
                .flatten();
            let webhook = match r.webhook_url.as_deref() {
                None => None,
                Some(raw) => match WebhookUrl::parse_optional(raw) {
                    Ok(w) => Some(w.map(|w| w.into_inner())),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                },
            };
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let changes = store::TenantChanges {
                name: name.map(|n| n.into_inner()),
                max_accounts,
                max_daily_messages: max_daily,
                webhook_url: webhook,
                config: r.config.as_ref().map(|c| Some(struct_to_json(c))),
            };
            let now = self.state.clock.now();
            let txn = self.state.db.writer().begin().await?;
            let old = store::find_tenant(&txn, &tenant_id)
                .await?
                .filter(store::tenant_not_deleted)
                .ok_or(Error::NotFound("tenant"))?;
            let new = store::update_tenant(&txn, &tenant_id, changes, now).await?.ok_or(Error::NotFound("tenant"))?;
            // After the UPDATE, so its row lock orders concurrent changes of
            // one tenant the same way here and in the task center.
            if new.webhook_url != old.webhook_url {
                self.state.webhooks.sync(&tenant_id, new.webhook_url.as_deref()).await?;
            }
            let entry = Entry::by(&call, &tenant_id, "tenant.update", "tenant", &tenant_id)
                .values(Some(snapshot(&old)), Some(snapshot(&new)));
            audit::record_in(&txn, &self.state, entry, &call.meta).await?;
            txn.commit().await?;
            self.state.cache.invalidate(&[cache_key(&tenant_id)]).await;
            Ok(to_proto(new))
        })
        .await
    }

    async fn list_tenants(
        &self,
        req: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require_platform_admin()?;
            let r = req.into_inner();
            let limit = wework_kit::pagination::page_size(r.page.as_ref())?;
            let cursor = super::page_cursor(r.page.as_ref())?;
            let status = match pb::TenantStatus::try_from(r.status).unwrap_or_default() {
                pb::TenantStatus::Unspecified => None,
                pb::TenantStatus::Active => Some(store::STATUS_ACTIVE),
                pb::TenantStatus::Suspended => Some(store::STATUS_SUSPENDED),
                pb::TenantStatus::Deleted => Some(store::STATUS_DELETED),
            };
            let filter = store::TenantFilter {
                status: status.map(str::to_owned),
                query: non_empty(&r.query).map(str::to_owned),
            };
            let (rows, next) = store::list_tenants(self.state.db.reader(), &filter, cursor, limit).await?;
            Ok(pb::ListTenantsResponse {
                tenants: rows.into_iter().map(to_proto).collect(),
                page: Some(super::next_page(next)),
            })
        })
        .await
    }

    async fn suspend_tenant(&self, req: Request<pb::SuspendTenantRequest>) -> Result<Response<pb::Tenant>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            let r = req.into_inner();
            self.set_status(&call, &r.tenant_id, store::STATUS_SUSPENDED, non_empty(&r.reason).map(str::to_owned)).await
        })
        .await
    }

    async fn resume_tenant(&self, req: Request<pb::ResumeTenantRequest>) -> Result<Response<pb::Tenant>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            self.set_status(&call, &req.get_ref().tenant_id, store::STATUS_ACTIVE, None).await
        })
        .await
    }

    async fn delete_tenant(
        &self,
        req: Request<pb::DeleteTenantRequest>,
    ) -> Result<Response<pb::DeleteTenantResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            self.set_status(&call, &req.get_ref().tenant_id, store::STATUS_DELETED, None).await?;
            Ok(pb::DeleteTenantResponse {})
        })
        .await
    }
}
