//! Who sent an instance callback: the guid's account, tenant and the
//! instance token its signature is checked with, from the account service
//! (`ResolveSendTarget` by guid, service principals only). Cached in this
//! process only — never in Redis, it carries the token — for a short TTL;
//! an unknown guid is remembered as unknown for a moment so a flood of
//! forged callbacks does not become a flood of lookups.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::Code;
use wework_kit::grpc_client::ServiceChannel;
use wework_proto::account::ResolveSendTargetRequest;
use wework_proto::account::account_service_client::AccountServiceClient;

/// Entries kept at most; the map is cleared when full (a refill is cheap).
const MAX_ENTRIES: usize = 100_000;

/// One guid as the callback service needs it.
#[derive(Clone)]
pub struct InstanceIdentity {
    pub account_id: String,
    pub tenant_id: String,
    token: String,
}

impl InstanceIdentity {
    pub fn new(account_id: String, tenant_id: String, token: String) -> Self {
        Self { account_id, tenant_id, token }
    }

    /// The key the instance signs callbacks with.
    pub fn token(&self) -> &[u8] {
        self.token.as_bytes()
    }
}

impl std::fmt::Debug for InstanceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceIdentity")
            .field("account_id", &self.account_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// The answer for one guid.
#[derive(Debug, Clone)]
pub enum Lookup {
    Known(Arc<InstanceIdentity>),
    /// No account has this guid (now).
    Unknown,
}

type Entries = Arc<Mutex<HashMap<String, (Instant, Lookup)>>>;

#[derive(Clone)]
pub struct Instances {
    client: AccountServiceClient<ServiceChannel>,
    ttl: Duration,
    unknown_ttl: Duration,
    cached: Entries,
}

impl Instances {
    pub fn new(channel: ServiceChannel, ttl: Duration, unknown_ttl: Duration) -> Self {
        Self { client: AccountServiceClient::new(channel), ttl, unknown_ttl, cached: Arc::default() }
    }

    /// The guid's identity; `Err` when the account service cannot answer.
    pub async fn resolve(&self, guid: &str) -> Result<Lookup, tonic::Status> {
        if let Some(hit) = self.lookup(guid) {
            return Ok(hit);
        }
        let req = ResolveSendTargetRequest { guid: guid.to_owned(), ..Default::default() };
        let found = match self.client.clone().resolve_send_target(req).await {
            Ok(resp) => {
                let t = resp.into_inner();
                Lookup::Known(Arc::new(InstanceIdentity::new(t.account_id, t.tenant_id, t.instance_token)))
            }
            Err(s) if s.code() == Code::NotFound => Lookup::Unknown,
            Err(s) => {
                tracing::warn!(code = ?s.code(), "account service guid lookup failed");
                return Err(s);
            }
        };
        let ttl = if matches!(found, Lookup::Known(_)) { self.ttl } else { self.unknown_ttl };
        if !ttl.is_zero() {
            let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if cached.len() >= MAX_ENTRIES {
                cached.clear();
            }
            cached.insert(guid.to_owned(), (Instant::now() + ttl, found.clone()));
        }
        Ok(found)
    }

    /// Forgets a guid, e.g. after its signature stopped matching (the
    /// instance's token may have been rotated).
    pub fn forget(&self, guid: &str) {
        self.cached.lock().unwrap_or_else(|e| e.into_inner()).remove(guid);
    }

    fn lookup(&self, guid: &str) -> Option<Lookup> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.get(guid).filter(|(until, _)| Instant::now() < *until).map(|(_, l)| l.clone())
    }
}
