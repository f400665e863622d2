//! A tenant's throttle overrides: the `throttle` key of the tenant's config
//! in the user service, cached (a changed setting applies within
//! `throttle.tenant_cache_secs`). An unreachable user service is not a
//! reason to stop sending: the last known (or default) policy applies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wework_kit::grpc_client::ServiceChannel;
use wework_proto::user::GetTenantRequest;
use wework_proto::user::tenant_service_client::TenantServiceClient;

use super::targets::throttle_of;
use crate::domain::throttle::PolicyOverrides;

#[derive(Clone)]
pub struct TenantPolicies {
    client: TenantServiceClient<ServiceChannel>,
    ttl: Duration,
    cached: Arc<Mutex<HashMap<String, (Instant, PolicyOverrides)>>>,
}

impl TenantPolicies {
    pub fn new(channel: ServiceChannel, ttl: Duration) -> Self {
        Self { client: TenantServiceClient::new(channel), ttl, cached: Arc::default() }
    }

    pub async fn overrides(&self, tenant_id: &str) -> PolicyOverrides {
        let stale = {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            match cached.get(tenant_id) {
                Some((at, o)) if at.elapsed() < self.ttl => return o.clone(),
                Some((_, o)) => Some(o.clone()),
                None => None,
            }
        };
        let req = GetTenantRequest { tenant_id: tenant_id.to_owned() };
        let fresh = match self.client.clone().get_tenant(req).await {
            Ok(resp) => {
                let config = resp.into_inner().config.map(|c| wework_kit::events::struct_to_json(&c));
                let json = config.map(|c| c.to_string()).unwrap_or_default();
                throttle_of(tenant_id, &json)
            }
            Err(s) => {
                tracing::warn!(code = ?s.code(), "tenant throttle settings unavailable; using the last known");
                return stale.unwrap_or_default();
            }
        };
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.insert(tenant_id.to_owned(), (Instant::now(), fresh.clone()));
        fresh
    }
}
