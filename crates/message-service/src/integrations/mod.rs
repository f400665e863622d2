//! The other services and systems this one calls: the user service (daily
//! message quota, tenants' throttle settings), the account service (send
//! targets, the directory for batch targets), the task center (tenant
//! events) and the protocol instances through `wework-client`. Every client
//! connects lazily with timeouts, so the service starts while the others
//! are still coming up.

mod directory;
mod events;
mod quota;
mod targets;
mod tenants;

pub use directory::{DIRECTORY_REFUSED, Directory, DirectoryEntry, DirectoryPage};
pub use events::MessageEvents;
pub use quota::DailyQuota;
pub use targets::{SendTarget, SendTargets};
pub use tenants::TenantPolicies;

use std::sync::Arc;
use std::time::Duration;

use wework_client::{HttpProvider, HttpProviderConfig, WeworkProvider};
use wework_kit::auth::ServiceTokenMinter;
use wework_kit::grpc_client::{self, BearerSource, ServiceChannel};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A lazily connected channel to another service that carries our service token.
pub fn service_channel(url: &str, minter: &Arc<ServiceTokenMinter>) -> anyhow::Result<ServiceChannel> {
    let channel = grpc_client::lazy_channel(url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
    let bearer: Arc<dyn BearerSource> = minter.clone();
    Ok(grpc_client::intercepted(channel, Some(bearer)))
}

/// Builds drivers for instances; one connection pool for all of them.
#[derive(Clone)]
pub struct Providers {
    http: reqwest::Client,
    config: HttpProviderConfig,
}

impl Providers {
    pub fn new(config: HttpProviderConfig) -> anyhow::Result<Self> {
        let http = HttpProvider::client(&config).map_err(|e| anyhow::anyhow!("provider http client: {e}"))?;
        Ok(Self { http, config })
    }

    /// The driver of one instance, given its api url and token.
    pub fn driver(&self, api_url: &str, token: &str) -> Arc<dyn WeworkProvider> {
        Arc::new(HttpProvider::with_client(self.http.clone(), api_url, token, self.config.clone()))
    }
}
