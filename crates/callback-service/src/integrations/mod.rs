//! The services this one calls: the account service (a guid's account,
//! tenant and instance token; status events, conversations, syncs), the
//! message service (receipts, inbound messages) and the task center (tenant
//! events). Every client connects lazily with timeouts, so the service
//! starts while the others are still coming up.

mod downstream;
mod instances;

pub use downstream::{CallError, Downstream};
pub use instances::{InstanceIdentity, Instances, Lookup};

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
