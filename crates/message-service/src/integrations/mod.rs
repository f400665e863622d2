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

/// Drivers for instances, one connection pool for all of them.
pub type Providers = wework_client::ProviderPool;
