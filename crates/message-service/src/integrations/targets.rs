//! Where and as whom a message is sent: the account's tenant, status, guid
//! and instance, from the account service (`ResolveSendTarget`, service
//! principals only), cached in this process for a moment (never in Redis:
//! it carries the instance token). SendMessage uses it to check that the
//! account belongs to the caller's tenant; the dispatcher to see whether the
//! account is online and where to send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::Code;
use wework_kit::grpc_client::ServiceChannel;
use wework_proto::account::account_service_client::AccountServiceClient;
use wework_proto::account::{AccountStatus, ResolveSendTargetRequest};

use crate::domain::throttle::{PolicyOverrides, ThrottleOverrides};
use crate::error::{Error, Result};

/// One account as the sender needs it.
#[derive(Clone)]
pub struct SendTarget {
    pub account_id: String,
    pub tenant_id: String,
    pub online: bool,
    /// The account's status name (`online`, `offline`, …) for error texts.
    pub status: &'static str,
    pub guid: String,
    pub api_url: String,
    pub token: String,
    /// The account's `throttle` config, validated (invalid → none, logged).
    pub throttle: PolicyOverrides,
}

impl std::fmt::Debug for SendTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendTarget")
            .field("account_id", &self.account_id)
            .field("tenant_id", &self.tenant_id)
            .field("status", &self.status)
            .field("guid", &self.guid)
            .finish_non_exhaustive()
    }
}

/// Resolved targets by account id, with when they were resolved.
type TargetCache = Arc<Mutex<HashMap<String, (Instant, Arc<SendTarget>)>>>;

#[derive(Clone)]
pub struct SendTargets {
    client: AccountServiceClient<ServiceChannel>,
    ttl: Duration,
    cached: TargetCache,
}

impl SendTargets {
    pub fn new(channel: ServiceChannel, ttl: Duration) -> Self {
        Self { client: AccountServiceClient::new(channel), ttl, cached: Arc::default() }
    }

    /// The account's send target. Unknown account → NotFound; account
    /// service unreachable → Unavailable.
    pub async fn get(&self, account_id: &str) -> Result<Arc<SendTarget>> {
        if let Some(hit) = self.lookup(account_id) {
            return Ok(hit);
        }
        let req = ResolveSendTargetRequest { account_id: account_id.to_owned(), ..Default::default() };
        let target = match self.client.clone().resolve_send_target(req).await {
            Ok(resp) => Arc::new(convert(resp.into_inner())),
            Err(s) if s.code() == Code::NotFound => return Err(Error::NotFound("account")),
            Err(s) => {
                tracing::warn!(code = ?s.code(), "account service send target lookup failed");
                return Err(Error::Unavailable("the account cannot be checked right now".into()));
            }
        };
        if !self.ttl.is_zero() {
            let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if cached.len() > 100_000 {
                cached.clear();
            }
            cached.insert(account_id.to_owned(), (Instant::now(), target.clone()));
        }
        Ok(target)
    }

    /// Forgets an account, e.g. after its instance said it is not logged in.
    pub fn forget(&self, account_id: &str) {
        self.cached.lock().unwrap_or_else(|e| e.into_inner()).remove(account_id);
    }

    fn lookup(&self, account_id: &str) -> Option<Arc<SendTarget>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.get(account_id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, t)| t.clone())
    }
}

fn convert(t: wework_proto::account::SendTarget) -> SendTarget {
    let status = AccountStatus::try_from(t.status).unwrap_or(AccountStatus::Unspecified);
    SendTarget {
        online: status == AccountStatus::Online,
        status: status_name(status),
        throttle: throttle_of(&t.account_id, &t.config_json),
        account_id: t.account_id,
        tenant_id: t.tenant_id,
        guid: t.guid,
        api_url: t.instance_api_url,
        token: t.instance_token,
    }
}

fn status_name(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Unspecified => "unknown",
        AccountStatus::Created => "created",
        AccountStatus::LoggingIn => "logging_in",
        AccountStatus::WaitingScan => "waiting_scan",
        AccountStatus::WaitingConfirm => "waiting_confirm",
        AccountStatus::NeedVerify => "need_verify",
        AccountStatus::Online => "online",
        AccountStatus::Offline => "offline",
        AccountStatus::Error => "error",
        AccountStatus::Recovering => "recovering",
    }
}

/// The `throttle` key of a config JSON object; invalid settings are logged
/// and ignored (the safe defaults apply), never a reason not to send.
pub fn throttle_of(owner: &str, config_json: &str) -> PolicyOverrides {
    let Ok(serde_json::Value::Object(config)) = serde_json::from_str::<serde_json::Value>(config_json) else {
        return PolicyOverrides::default();
    };
    let Some(throttle) = config.get("throttle") else { return PolicyOverrides::default() };
    match serde_json::from_value::<ThrottleOverrides>(throttle.clone())
        .map_err(|e| e.to_string())
        .and_then(|o| o.parse().map_err(|e| e.to_string()))
    {
        Ok(parsed) => parsed,
        Err(problem) => {
            tracing::warn!(owner, %problem, "invalid throttle settings ignored");
            PolicyOverrides::default()
        }
    }
}
