//! Settings of the account service: the kit's shared sections, the services
//! it calls (user service quota, task center events), the provider driver's
//! timeouts and the notify url instances post callbacks to, and the
//! watchdog. Loaded once and passed down.

use serde::{Deserialize, Serialize};
use wework_kit::settings::{
    AuthSettings, CacheSettings, DatabaseSettings, LogSettings, Problems, ServerSettings, SettingsError,
};

/// Well-known ports of the account service (gRPC, metrics/health HTTP).
pub const GRPC_PORT: u16 = 50052;
pub const HTTP_PORT: u16 = 9052;
pub const SERVICE_NAME: &str = "account-service";

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
    pub watchdog: WatchdogSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(GRPC_PORT, HTTP_PORT),
            database: DatabaseSettings::sqlite_in_data_dir("account"),
            cache: CacheSettings::for_service("account"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            integrations: IntegrationSettings::default(),
            provider: ProviderSettings::default(),
            watchdog: WatchdogSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/account-service.toml` → `WEWORK__…` env vars, validated.
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
        self.watchdog.validate(&mut p);
        p.into_result()
    }
}

/// The other services this one calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationSettings {
    /// Where `account.status_changed` events go (tenant webhooks + live).
    /// Empty: events stay in the outbox (the status history) unpublished.
    pub task_service_url: String,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self { task_service_url: "http://127.0.0.1:50055".to_owned() }
    }
}

impl IntegrationSettings {
    fn validate(&self, p: &mut Problems) {
        let url = self.task_service_url.trim();
        p.check(url.is_empty() || url.starts_with("http"), "integrations.task_service_url must be an http(s) URL");
    }

    pub fn task_service_url(&self) -> Option<&str> {
        Some(self.task_service_url.trim()).filter(|u| !u.is_empty())
    }
}

/// The driver of protocol instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    /// The callback service's ingest url, given to every client so its
    /// callbacks reach the platform.
    pub notify_url: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Retries of idempotent calls after the first attempt.
    pub max_retries: u32,
    /// Shown on the phone when a login is confirmed.
    pub device_name: String,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            notify_url: "http://127.0.0.1:9054/v1/callbacks/instance".to_owned(),
            connect_timeout_ms: 2_000,
            request_timeout_ms: 5_000,
            max_retries: 2,
            device_name: "WeWork Platform".to_owned(),
        }
    }
}

impl ProviderSettings {
    fn validate(&self, p: &mut Problems) {
        p.check(self.notify_url.starts_with("http"), "provider.notify_url must be an http(s) URL");
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

/// Offline detection and recovery, which run in every replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchdogSettings {
    pub enabled: bool,
    /// How often the watchdog looks (real time; the rules use the clock).
    pub tick_ms: u64,
    /// An online account without a heartbeat this long goes offline.
    pub heartbeat_timeout_secs: u64,
    /// Restore attempts before an account is given up as `error`.
    pub max_recover_attempts: u32,
    /// First wait between restore attempts; doubles per attempt.
    pub recover_backoff_secs: u64,
    pub recover_backoff_max_secs: u64,
    /// Accounts handled per tick.
    pub batch: u64,
    /// Status events older than this and still unpublished are re-sent.
    pub outbox_retry_secs: u64,
    /// Instances are asked for their health (and restarts noticed) this
    /// often when nothing else reported them alive.
    pub instance_probe_secs: u64,
}

impl Default for WatchdogSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_ms: 5_000,
            heartbeat_timeout_secs: 120,
            max_recover_attempts: 5,
            recover_backoff_secs: 10,
            recover_backoff_max_secs: 600,
            batch: 100,
            outbox_retry_secs: 30,
            instance_probe_secs: 30,
        }
    }
}

impl WatchdogSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((50..=600_000).contains(&self.tick_ms), "watchdog.tick_ms must be within 50..=600000");
        p.check(self.heartbeat_timeout_secs >= 5, "watchdog.heartbeat_timeout_secs must be at least 5");
        p.check((1..=100).contains(&self.max_recover_attempts), "watchdog.max_recover_attempts must be 1..=100");
        p.check(self.recover_backoff_secs >= 1, "watchdog.recover_backoff_secs must be at least 1");
        p.check(
            self.recover_backoff_max_secs >= self.recover_backoff_secs,
            "watchdog.recover_backoff_max_secs must be at least recover_backoff_secs",
        );
        p.check((1..=10_000).contains(&self.batch), "watchdog.batch must be within 1..=10000");
        p.check(self.instance_probe_secs >= 1, "watchdog.instance_probe_secs must be at least 1");
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
