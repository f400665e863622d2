//! Settings of the callback service: the kit's shared sections, the services
//! it routes to (account, message, task center), ingest limits and the
//! processor. Loaded once and passed down.

use serde::{Deserialize, Serialize};
use wework_kit::settings::{
    AuthSettings, CacheSettings, DatabaseSettings, LogSettings, Problems, ServerSettings, SettingsError,
};

/// Well-known ports of the callback service (gRPC; HTTP = ingest + metrics/health).
pub const GRPC_PORT: u16 = 50054;
pub const HTTP_PORT: u16 = 9054;
pub const SERVICE_NAME: &str = "callback-service";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub integrations: IntegrationSettings,
    pub ingest: IngestSettings,
    pub processor: ProcessorSettings,
    pub retention: RetentionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(GRPC_PORT, HTTP_PORT),
            database: DatabaseSettings::sqlite_in_data_dir("callback"),
            cache: CacheSettings::for_service("callback"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            integrations: IntegrationSettings::default(),
            ingest: IngestSettings::default(),
            processor: ProcessorSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/callback-service.toml` → `WEWORK__…` env vars, validated.
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
        self.ingest.validate(&mut p);
        self.processor.validate(&mut p);
        self.retention.validate(&mut p);
        p.into_result()
    }
}

/// The services callbacks are routed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationSettings {
    /// Guid → account, tenant and instance token; status events, conversations.
    pub account_service_url: String,
    /// Receipts and inbound messages.
    pub message_service_url: String,
    /// Where `callback.*` tenant events go. Empty: not published.
    pub task_service_url: String,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            account_service_url: "http://127.0.0.1:50052".to_owned(),
            message_service_url: "http://127.0.0.1:50053".to_owned(),
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
        p.check(
            self.message_service_url.starts_with("http"),
            "integrations.message_service_url must be an http(s) URL",
        );
        let url = self.task_service_url.trim();
        p.check(url.is_empty() || url.starts_with("http"), "integrations.task_service_url must be an http(s) URL");
    }

    pub fn task_service_url(&self) -> Option<&str> {
        Some(self.task_service_url.trim()).filter(|u| !u.is_empty())
    }
}

/// The HTTP ingest endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestSettings {
    /// Larger bodies are refused with 413 before they are read whole.
    pub max_body_bytes: usize,
    /// An instance callback signed further than this from our clock is refused (replays).
    pub signature_tolerance_secs: i64,
    /// Identical bodies without a provider id are one event within this window.
    pub dedup_window_secs: u64,
    /// How long a guid's account, tenant and token are reused (in process only:
    /// the token is a secret). 0 asks the account service every time.
    pub guid_cache_ms: u64,
    /// How long an unknown guid is remembered as unknown (forgery floods).
    pub unknown_guid_cache_ms: u64,
    /// Callbacks waiting for the group commit before ingest answers 503.
    pub queue: usize,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            signature_tolerance_secs: 300,
            dedup_window_secs: 300,
            guid_cache_ms: 30_000,
            unknown_guid_cache_ms: 1_000,
            queue: 16_384,
        }
    }
}

impl IngestSettings {
    fn validate(&self, p: &mut Problems) {
        p.check(
            (1024..=16 * 1024 * 1024).contains(&self.max_body_bytes),
            "ingest.max_body_bytes must be within 1024..=16777216",
        );
        p.check(
            (1..=86_400).contains(&self.signature_tolerance_secs),
            "ingest.signature_tolerance_secs must be within 1..=86400",
        );
        p.check((1..=86_400).contains(&self.dedup_window_secs), "ingest.dedup_window_secs must be within 1..=86400");
        p.check(self.guid_cache_ms <= 600_000, "ingest.guid_cache_ms must be at most 600000");
        p.check(self.unknown_guid_cache_ms <= 60_000, "ingest.unknown_guid_cache_ms must be at most 60000");
        p.check((16..=1_000_000).contains(&self.queue), "ingest.queue must be within 16..=1000000");
    }
}

/// The processor, which runs in every replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessorSettings {
    pub enabled: bool,
    /// How often an idle processor looks for due events (new ones wake it at once).
    pub tick_ms: u64,
    /// Events claimed at once.
    pub claim_batch: u64,
    /// Events processed at once per replica (one guid's events in order).
    pub concurrency: usize,
    /// A claim's lease; a replica that dies mid-event loses it after this.
    pub lease_secs: u64,
    /// Processing attempts before an event is `failed`.
    pub max_attempts: u32,
    /// First wait after a failed attempt; doubles per attempt (±20 % jitter).
    pub retry_backoff_ms: u64,
    pub retry_backoff_max_ms: u64,
}

impl Default for ProcessorSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick_ms: 250,
            claim_batch: 200,
            concurrency: 32,
            lease_secs: 60,
            max_attempts: 8,
            retry_backoff_ms: 1_000,
            retry_backoff_max_ms: 300_000,
        }
    }
}

impl ProcessorSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((10..=600_000).contains(&self.tick_ms), "processor.tick_ms must be within 10..=600000");
        p.check((1..=1_000).contains(&self.claim_batch), "processor.claim_batch must be within 1..=1000");
        p.check((1..=1_024).contains(&self.concurrency), "processor.concurrency must be within 1..=1024");
        p.check((5..=3_600).contains(&self.lease_secs), "processor.lease_secs must be within 5..=3600");
        p.check((1..=100).contains(&self.max_attempts), "processor.max_attempts must be within 1..=100");
        p.check(self.retry_backoff_ms >= 10, "processor.retry_backoff_ms must be at least 10");
        p.check(
            self.retry_backoff_max_ms >= self.retry_backoff_ms,
            "processor.retry_backoff_max_ms must be at least retry_backoff_ms",
        );
    }
}

/// Finished events (processed, ignored, failed) older than `max_age_days`
/// are deleted in small batches, so the table does not grow forever.
/// Waiting events are never deleted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    pub enabled: bool,
    pub max_age_days: u32,
    pub batch: u64,
    pub interval_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { enabled: true, max_age_days: 30, batch: 1_000, interval_secs: 3_600 }
    }
}

impl RetentionSettings {
    fn validate(&self, p: &mut Problems) {
        p.check(self.max_age_days >= 1, "retention.max_age_days must be at least 1");
        p.check((1..=100_000).contains(&self.batch), "retention.batch must be within 1..=100000");
        p.check(self.interval_secs >= 1, "retention.interval_secs must be at least 1");
    }
}
