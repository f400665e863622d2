//! A tenant's `webhook_url` lives in the task center, which delivers the
//! tenant's events: as the endpoint `default` of owner `tenant:<tenant id>`.
//!
//! Contract: [`TenantWebhooks::sync`] runs inside the transaction of the
//! tenant write, before its commit. When the task center cannot be told
//! (unreachable, too slow) the write fails with UNAVAILABLE and rolls back,
//! so a tenant never shows a webhook the task center does not know. The
//! reverse — the task center told, the commit then failing — heals on the
//! next change, since an upsert is idempotent. A cleared URL disables the
//! endpoint (its history and secret stay); a new URL re-enables it.
//!
//! Off (no `integrations.task_service_url`), every sync is a no-op.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tonic::{Code, Status};
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::clock::SharedClock;
use wework_kit::grpc_client::{self, BearerSource, ServiceChannel};
use wework_proto::common::PageRequest;
use wework_proto::task::endpoint_service_client::EndpointServiceClient;
use wework_proto::task::{
    Endpoint, EndpointStatus, ListEndpointsRequest, SetEndpointEnabledRequest, UpsertEndpointRequest,
};

use crate::error::{Error, Result};
use crate::settings::{SERVICE_NAME, Settings};

/// Name of the endpoint that mirrors a tenant's `webhook_url`.
pub const ENDPOINT_NAME: &str = "default";
const DESCRIPTION: &str = "The tenant's webhook_url (kept in sync by the user service)";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Short: the caller's tenant transaction stays open while this runs.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Pages of a tenant's endpoints searched for the default one.
const MAX_PAGES: usize = 20;

/// The endpoint owner of a tenant's webhooks in the task center.
pub fn owner(tenant_id: &str) -> String {
    format!("tenant:{tenant_id}")
}

/// Client of the task center's `EndpointService`, or off. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TenantWebhooks {
    client: Option<EndpointServiceClient<ServiceChannel>>,
}

impl TenantWebhooks {
    /// Tenant webhooks are stored but never synced (nor delivered).
    pub fn disabled() -> Self {
        Self { client: None }
    }

    /// Calls the task center at `url` with this service's service token.
    /// Connects lazily; must be called inside a Tokio runtime.
    pub fn connect(url: &str, minter: Arc<ServiceTokenMinter>) -> anyhow::Result<Self> {
        let channel = grpc_client::lazy_channel(url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        let bearer: Arc<dyn BearerSource> = minter;
        Ok(Self { client: Some(EndpointServiceClient::new(grpc_client::intercepted(channel, Some(bearer)))) })
    }

    /// From `integrations.task_service_url`; says once, at startup, when off.
    pub fn from_settings(
        settings: &Settings,
        internal_secret: &SecretString,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let Some(url) = settings.integrations.task_service_url() else {
            tracing::warn!(
                "integrations.task_service_url is not set: tenant webhooks are not synced to the task center"
            );
            return Ok(Self::disabled());
        };
        let ttl = Duration::from_secs(settings.auth.service_token_ttl_secs);
        let minter = Arc::new(ServiceTokenMinter::with_clock(SERVICE_NAME, internal_secret, ttl, clock));
        Self::connect(url, minter)
    }

    pub fn is_enabled(&self) -> bool {
        self.client.is_some()
    }

    /// Points the tenant's endpoint at `url`, or disables it when `None`.
    pub async fn sync(&self, tenant_id: &str, url: Option<&str>) -> Result<()> {
        let Some(client) = &self.client else { return Ok(()) };
        let mut client = client.clone();
        match url {
            Some(url) => {
                let request = UpsertEndpointRequest {
                    owner: owner(tenant_id),
                    name: ENDPOINT_NAME.to_owned(),
                    url: url.to_owned(),
                    description: DESCRIPTION.to_owned(),
                };
                let endpoint = client
                    .upsert_endpoint(request)
                    .await
                    .map_err(|s| rejected("UpsertEndpoint", s))?
                    .into_inner()
                    .endpoint
                    .ok_or_else(|| Error::Internal(anyhow::anyhow!("UpsertEndpoint returned no endpoint")))?;
                if endpoint.status == EndpointStatus::Disabled as i32 {
                    set_enabled(&mut client, &endpoint.id, true).await?;
                }
            }
            None => {
                if let Some(endpoint) = find_default(&mut client, tenant_id).await?
                    && endpoint.status != EndpointStatus::Disabled as i32
                {
                    set_enabled(&mut client, &endpoint.id, false).await?;
                }
            }
        }
        tracing::info!(tenant_id, set = url.is_some(), "tenant webhook synced to the task center");
        Ok(())
    }
}

async fn set_enabled(client: &mut EndpointServiceClient<ServiceChannel>, id: &str, enabled: bool) -> Result<()> {
    let request = SetEndpointEnabledRequest { id: id.to_owned(), enabled };
    match client.set_endpoint_enabled(request).await {
        Ok(_) => Ok(()),
        // Gone in the meantime: nothing left to enable or disable.
        Err(s) if s.code() == Code::NotFound => Ok(()),
        Err(s) => Err(rejected("SetEndpointEnabled", s)),
    }
}

async fn find_default(client: &mut EndpointServiceClient<ServiceChannel>, tenant_id: &str) -> Result<Option<Endpoint>> {
    let mut page_token = String::new();
    for _ in 0..MAX_PAGES {
        let request = ListEndpointsRequest {
            page: Some(PageRequest { page_size: 100, page_token: page_token.clone() }),
            owner: owner(tenant_id),
            ..Default::default()
        };
        let page = client.list_endpoints(request).await.map_err(|s| rejected("ListEndpoints", s))?.into_inner();
        if let Some(found) = page.endpoints.into_iter().find(|e| e.name == ENDPOINT_NAME) {
            return Ok(Some(found));
        }
        page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return Ok(None);
        }
    }
    Err(Error::Internal(anyhow::anyhow!("tenant {tenant_id} has more endpoints than ListEndpoints can page through")))
}

/// What the caller of the tenant write sees when the task center said no.
fn rejected(rpc: &str, status: Status) -> Error {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::ResourceExhausted => {
            tracing::warn!(rpc, %status, "task center unavailable; tenant webhook unchanged");
            Error::Unavailable("the task center is unavailable; the webhook was not changed, try again".into())
        }
        // Its URL rules (e.g. no private addresses) are stricter than ours.
        Code::InvalidArgument => Error::invalid("webhook_url", status.message()),
        _ => Error::Internal(anyhow::anyhow!("task center {rpc}: {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_names_the_tenant() {
        assert_eq!(owner("0193-abc"), "tenant:0193-abc");
    }

    #[test]
    fn unreachable_or_slow_is_unavailable_and_a_refused_url_is_the_callers() {
        for code in [Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled, Code::ResourceExhausted] {
            assert!(matches!(rejected("X", Status::new(code, "down")), Error::Unavailable(_)), "{code:?}");
        }
        match rejected("X", Status::invalid_argument("url resolves to a private address")) {
            Error::Invalid(fields) => assert_eq!(fields[0].field, "webhook_url"),
            other => panic!("expected a field error, got {other:?}"),
        }
        assert!(matches!(rejected("X", Status::permission_denied("no")), Error::Internal(_)));
    }

    #[tokio::test]
    async fn disabled_syncs_nothing() {
        let hooks = TenantWebhooks::disabled();
        assert!(!hooks.is_enabled());
        assert!(hooks.sync("t1", Some("https://example.com/hook")).await.is_ok());
        assert!(hooks.sync("t1", None).await.is_ok());
    }
}
