//! QuotaService: the atomic daily-message allowance and the account quota,
//! for the other services (service principals) and tenant admins.

use tonic::{Request, Response, Status};
use wework_proto::user::{self as pb, quota_service_server::QuotaService};

use super::context::Call;
use super::{Api, respond};
use crate::error::{Error, Result};
use crate::quota;
use crate::store::{self, TenantModel};

/// Largest single reservation; a batch larger than this reserves in chunks.
const MAX_RESERVE: i32 = 100_000;

impl Api {
    async fn quota_tenant(&self, call: &Call, requested: &str) -> Result<TenantModel> {
        let tid = call.target_tenant(requested)?;
        let tenant = super::tenants::cached_tenant(&self.state, &tid).await?.ok_or(Error::NotFound("tenant"))?;
        if !store::tenant_is_active(&tenant) {
            return Err(Error::precondition(crate::login::TENANT_SUSPENDED, "tenant is suspended"));
        }
        Ok(tenant)
    }
}

fn check_count(count: i32) -> Result<i64> {
    if !(1..=MAX_RESERVE).contains(&count) {
        return Err(Error::invalid("count", format!("must be within 1..={MAX_RESERVE}")));
    }
    Ok(i64::from(count))
}

#[tonic::async_trait]
impl QuotaService for Api {
    async fn reserve_daily_messages(
        &self,
        req: Request<pb::ReserveDailyMessagesRequest>,
    ) -> Result<Response<pb::ReserveDailyMessagesResponse>, Status> {
        let result = async {
            let call = self.state.call(&req).await?;
            call.require("quota:reserve")?;
            let n = check_count(req.get_ref().count)?;
            let tenant = self.quota_tenant(&call, &req.get_ref().tenant_id).await?;
            let limit = i64::from(tenant.max_daily_messages);
            let r = quota::reserve(&self.state, &tenant.id, n, limit, self.state.clock.now()).await?;
            Ok::<_, Error>(r)
        }
        .await;
        match result {
            Ok(r) if r.granted => Ok(Response::new(pb::ReserveDailyMessagesResponse {
                granted: true,
                used: r.used,
                limit: r.limit,
                remaining: r.remaining(),
            })),
            Ok(r) => {
                let mut status = wework_kit::errors::resource_exhausted(&format!(
                    "daily message quota exhausted: {} of {} used, {} remaining",
                    r.used,
                    r.limit,
                    r.remaining()
                ));
                if let Ok(v) = r.remaining().to_string().parse() {
                    status.metadata_mut().insert("x-quota-remaining", v);
                }
                Err(status)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn release_daily_messages(
        &self,
        req: Request<pb::ReleaseDailyMessagesRequest>,
    ) -> Result<Response<pb::ReleaseDailyMessagesResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("quota:reserve")?;
            let n = check_count(req.get_ref().count)?;
            let tenant = self.quota_tenant(&call, &req.get_ref().tenant_id).await?;
            let now = self.state.clock.now();
            let used = quota::release(&self.state, &tenant.id, n, now).await?;
            Ok(pb::ReleaseDailyMessagesResponse {
                remaining: crate::domain::quota::remaining(i64::from(tenant.max_daily_messages), used),
            })
        })
        .await
    }

    async fn get_quota_usage(
        &self,
        req: Request<pb::GetQuotaUsageRequest>,
    ) -> Result<Response<pb::GetQuotaUsageResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("quota:read")?;
            let tid = call.target_tenant(&req.get_ref().tenant_id)?;
            let tenant = super::tenants::cached_tenant(&self.state, &tid).await?.ok_or(Error::NotFound("tenant"))?;
            let used = quota::used(&self.state, &tenant.id, self.state.clock.now()).await?;
            Ok(pb::GetQuotaUsageResponse {
                daily_messages_used: used,
                daily_messages_limit: i64::from(tenant.max_daily_messages),
                max_accounts: tenant.max_accounts,
            })
        })
        .await
    }

    async fn check_account_quota(
        &self,
        req: Request<pb::CheckAccountQuotaRequest>,
    ) -> Result<Response<pb::CheckAccountQuotaResponse>, Status> {
        respond(async {
            let call = self.state.call(&req).await?;
            call.require("quota:read")?;
            let r = req.get_ref();
            if r.current_accounts < 0 {
                return Err(Error::invalid("current_accounts", "must not be negative"));
            }
            let tenant = self.quota_tenant(&call, &r.tenant_id).await?;
            Ok(pb::CheckAccountQuotaResponse {
                allowed: r.current_accounts < tenant.max_accounts,
                max_accounts: tenant.max_accounts,
            })
        })
        .await
    }
}
