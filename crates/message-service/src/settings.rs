//! Settings of the message service: the kit's shared sections, the services
//! it calls (user service quota, account service send targets, task center
//! events), the provider driver's timeouts, the dispatcher, the platform's
//! default throttle and the retention job. Loaded once and passed down.

use serde::{Deserialize, Serialize};
use wework_kit::settings::{
    AuthSettings, CacheSettings, DatabaseSettings, LogSettings, Problems, ServerSettings, SettingsError,
};

use crate::domain::throttle::ThrottleOverrides;

/// Well-known ports of the message service (gRPC, metrics/health HTTP).
pub const GRPC_PORT: u16 = 50053;
pub const HTTP_PORT: u16 = 9053;
pub const SERVICE_NAME: &str = "message-service";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub integrations: IntegrationSettings,
    pub provider: ProviderSettings,
    pub dispatch: DispatchSettings,
    pub throttle: ThrottleSettings,
    pub retention: RetentionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(GRPC_PORT, HTTP_PORT),
            database: DatabaseSettings::sqlite_in_data_dir("message"),
            cache: CacheSettings::for_service("message"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            integrations: IntegrationSettings::default(),
            provider: ProviderSettings::default(),
            dispatch: DispatchSettings::default(),
            throttle: ThrottleSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/message-service.toml` → `WEWORK__…` env vars, validated.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Self = wework_kit::settings::load(SERVICE_NAME)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut p = Problems::default();
        self.server.validate(&mut p);
        self.database.validate(&mut p);
        self.cache.validate(&mut p);
        self.auth.validate(&mut p);
        self.integrations.validate(&mut p);
        self.provider.validate(&mut p);
        self.dispatch.validate(&mut p);
        self.throttle.validate(&mut p);
        self.retention.validate(&mut p);
        p.into_result()
    }
}

/// The other services this one calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationSettings {
    /// Send targets (tenant, status, guid, instance) and the directory for
    /// group/filter batches.
    pub account_service_url: String,
    /// Where `message.sent|delivered|failed` events go. Empty: not published.
    pub task_service_url: String,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            account_service_url: "http://127.0.0.1:50052".to_owned(),
            task_service_url: "http://127.0.0.1:50055".to_owned(),
        }
    }
}

impl IntegrationSettings {
    fn validate(&self, p: &mut Problems) {
        p.check(
            self.account_service_url.starts_with("http"),
            "integrations.account_service_url must be an http(s) URL",
        );
        let url = self.task_service_url.trim();
        p.check(url.is_empty() || url.starts_with("http"), "integrations.task_service_url must be an http(s) URL");
    }

    pub fn task_service_url(&self) -> Option<&str> {
        Some(self.task_service_url.trim()).filter(|u| !u.is_empty())
    }
}

/// The driver of protocol instances. Sends are retried by the dispatcher
/// (with the message id as the client message id), so the driver's own
/// retries stay few.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub max_retries: u32,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self { connect_timeout_ms: 2_000, request_timeout_ms: 10_000, max_retries: 1 }
    }
}

impl ProviderSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((100..=60_000).contains(&self.connect_timeout_ms), "provider.connect_timeout_ms must be 100..=60000");
        p.check((100..=120_000).contains(&self.request_timeout_ms), "provider.request_timeout_ms must be 100..=120000");
        p.check(self.max_retries <= 10, "provider.max_retries must be at most 10");
    }

    pub fn driver_config(&self) -> wework_client::HttpProviderConfig {
        wework_client::HttpProviderConfig {
            connect_timeout: std::time::Duration::from_millis(self.connect_timeout_ms),
            request_timeout: std::time::Duration::from_millis(self.request_timeout_ms),
            max_retries: self.max_retries,
            trace_context: Some(wework_kit::telemetry::current_traceparent),
            ..Default::default()
        }
    }
}

/// The dispatcher and the batch feeder, which run in every replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DispatchSettings {
    pub enabled: bool,
    /// How often an idle dispatcher looks for due messages (real time; the
    /// rules use the clock).
    pub tick_ms: u64,
    /// Messages claimed at once.
    pub claim_batch: u64,
    /// Sends in flight at once per replica.
    pub concurrency: usize,
    /// A claim's lease; renewed while the send runs.
    pub lease_secs: u64,
    /// Send attempts before a transiently failing message is `failed`.
    pub max_attempts: u32,
    /// First wait after a transient failure; doubles per attempt (±20 % jitter).
    pub retry_backoff_secs: u64,
    pub retry_backoff_max_secs: u64,
    /// A message whose account is not online waits at most this long (from
    /// when it became due), then fails with `ACCOUNT_OFFLINE`.
    pub offline_wait_secs: u64,
    /// How often a waiting message looks at its account again.
    pub offline_recheck_secs: u64,
    /// How long a resolved send target (account status, instance) is reused.
    pub target_cache_ms: u64,
    /// Messages of one batch queued for the dispatcher ahead of its sends.
    pub batch_window: u64,
    /// Receivers written (or expanded from the directory) per chunk.
    pub batch_chunk: u64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_ms: 500,
            claim_batch: 100,
            concurrency: 64,
            lease_secs: 60,
            max_attempts: 5,
            retry_backoff_secs: 5,
            retry_backoff_max_secs: 600,
            offline_wait_secs: 3_600,
            offline_recheck_secs: 15,
            target_cache_ms: 2_000,
            batch_window: 200,
            batch_chunk: 500,
        }
    }
}

impl DispatchSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((10..=600_000).contains(&self.tick_ms), "dispatch.tick_ms must be within 10..=600000");
        p.check((1..=1_000).contains(&self.claim_batch), "dispatch.claim_batch must be within 1..=1000");
        p.check((1..=4_096).contains(&self.concurrency), "dispatch.concurrency must be within 1..=4096");
        p.check((5..=3_600).contains(&self.lease_secs), "dispatch.lease_secs must be within 5..=3600");
        p.check((1..=100).contains(&self.max_attempts), "dispatch.max_attempts must be within 1..=100");
        p.check(self.retry_backoff_secs >= 1, "dispatch.retry_backoff_secs must be at least 1");
        p.check(
            self.retry_backoff_max_secs >= self.retry_backoff_secs,
            "dispatch.retry_backoff_max_secs must be at least retry_backoff_secs",
        );
        p.check(self.offline_recheck_secs >= 1, "dispatch.offline_recheck_secs must be at least 1");
        p.check(self.target_cache_ms <= 60_000, "dispatch.target_cache_ms must be at most 60000");
        p.check((1..=10_000).contains(&self.batch_window), "dispatch.batch_window must be within 1..=10000");
        p.check((1..=5_000).contains(&self.batch_chunk), "dispatch.batch_chunk must be within 1..=5000");
    }
}

/// The platform's default throttle (tenants override it in their config's
/// `throttle` key, accounts in theirs). `enabled = false` turns the anti-ban
/// rule off entirely — for benchmarks against the simulator only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleSettings {
    pub enabled: bool,
    /// Same fields as a tenant's `throttle` (see docs/messages.md).
    pub defaults: ThrottleOverrides,
    /// How long a tenant's overrides are cached.
    pub tenant_cache_secs: u64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self { enabled: true, defaults: ThrottleOverrides::default(), tenant_cache_secs: 60 }
    }
}

impl ThrottleSettings {
    fn validate(&self, p: &mut Problems) {
        if let Err(e) = self.defaults.parse() {
            p.check(false, format!("throttle.defaults: {e}"));
        }
        p.check(self.tenant_cache_secs <= 3_600, "throttle.tenant_cache_secs must be at most 3600");
    }
}

/// Old messages are purged in small batches so the table does not grow
/// forever (the seed's partitioning, done as a job).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    pub enabled: bool,
    /// Messages (in a final state) older than this are deleted.
    pub max_age_days: u32,
    pub batch: u64,
    /// How often the job runs.
    pub interval_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { enabled: true, max_age_days: 3 * 365, batch: 1_000, interval_secs: 3_600 }
    }
}

impl RetentionSettings {
    fn validate(&self, p: &mut Problems) {
        p.check(self.max_age_days >= 1, "retention.max_age_days must be at least 1");
        p.check((1..=100_000).contains(&self.batch), "retention.batch must be within 1..=100000");
        p.check(self.interval_secs >= 1, "retention.interval_secs must be at least 1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_calls_carry_the_callers_trace_context() {
        let config = ProviderSettings::default().driver_config();
        assert!(config.trace_context.is_some(), "instances must see the traceparent");
    }
}
