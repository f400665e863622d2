//! The other services this one calls: the user service for the tenant's
//! `max_accounts` (cached briefly: a raised limit applies within a minute),
//! and the instances themselves through `wework-client`.

use std::sync::Arc;
use std::time::Duration;

use tonic::Code;
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::cache::Cache;
use wework_kit::grpc_client::{self, BearerSource, ServiceChannel};
use wework_proto::user::{CheckAccountQuotaRequest, quota_service_client::QuotaServiceClient};

use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const LIMIT_TTL: Duration = Duration::from_secs(30);

/// The user service's view of a tenant's account limit.
#[derive(Clone)]
pub struct AccountQuota {
    client: QuotaServiceClient<ServiceChannel>,
    cache: Cache,
}

impl AccountQuota {
    pub fn new(user_service_url: &str, minter: Arc<ServiceTokenMinter>, cache: Cache) -> anyhow::Result<Self> {
        let channel = grpc_client::lazy_channel(user_service_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        let bearer: Arc<dyn BearerSource> = minter;
        Ok(Self { client: QuotaServiceClient::new(grpc_client::intercepted(channel, Some(bearer))), cache })
    }

    /// The tenant's `max_accounts`. Unreachable user service → Unavailable
    /// (an account is never created unchecked); a suspended or deleted
    /// tenant → FailedPrecondition.
    pub async fn max_accounts(&self, tenant_id: &str) -> Result<i32> {
        let mut client = self.client.clone();
        let tenant = tenant_id.to_owned();
        self.cache
            .get_or_load(&format!("quota:max_accounts:{tenant_id}"), Some(LIMIT_TTL), || async move {
                let req = CheckAccountQuotaRequest { tenant_id: tenant, current_accounts: 0 };
                match client.check_account_quota(req).await {
                    Ok(resp) => Ok(resp.into_inner().max_accounts),
                    Err(s) if s.code() == Code::NotFound => {
                        Err(Error::precondition("TENANT_UNAVAILABLE", "the tenant does not exist"))
                    }
                    Err(s) if s.code() == Code::FailedPrecondition => {
                        Err(Error::precondition("TENANT_UNAVAILABLE", "the tenant is not active"))
                    }
                    Err(s) => {
                        tracing::warn!(code = ?s.code(), "user service quota check failed");
                        Err(Error::Unavailable("the account quota cannot be checked right now".to_owned()))
                    }
                }
            })
            .await
    }
}

/// Drivers for instances, one connection pool for all of them.
pub type Providers = wework_client::ProviderPool;
