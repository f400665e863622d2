//! Settings of the task center: the kit's shared sections, the worker (how
//! many deliveries at once, leases, polling), outbound HTTP and the
//! scheduler. Loaded once in `main` (or by the all-in-one binary) and passed
//! down; nothing reads configuration globally.

use serde::{Deserialize, Serialize};
use wework_kit::settings::{
    AuthSettings, CacheSettings, DatabaseSettings, LogSettings, Problems, ServerSettings, SettingsError,
};

use crate::delivery::DeliverySettings;

/// Well-known ports of the task center (gRPC, metrics/health HTTP).
pub const GRPC_PORT: u16 = 50055;
pub const HTTP_PORT: u16 = 9055;
pub const SERVICE_NAME: &str = "task-service";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub worker: WorkerSettings,
    pub delivery: DeliverySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(GRPC_PORT, HTTP_PORT),
            database: DatabaseSettings::sqlite_in_data_dir("task"),
            cache: CacheSettings::for_service("task"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            worker: WorkerSettings::default(),
            delivery: DeliverySettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/task-service.toml` → `WEWORK__…` env vars, validated.
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
        self.worker.validate(&mut p);
        self.delivery.validate(&mut p);
        p.into_result()
    }
}

/// The delivery worker and the scheduler, which run in every replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    /// Off for an API-only replica.
    pub enabled: bool,
    /// Names this replica in `claimed_by`; empty = `<hostname>-<pid>`.
    pub worker_id: String,
    /// Deliveries in flight at once in this replica.
    pub concurrency: usize,
    /// Rows taken per claim query.
    pub claim_batch: u64,
    /// A claim is held this long; renewed while a request runs.
    pub lease_secs: u64,
    /// How often leases of running deliveries are extended and expired ones reclaimed.
    pub renew_every_secs: u64,
    /// Sleep when nothing is due (a create in this replica wakes the worker at once).
    pub idle_poll_ms: u64,
    /// An endpoint failing without a single success this long is disabled.
    pub endpoint_disable_after_secs: u64,
    /// Concurrent requests to one host from this replica.
    pub max_per_host: usize,
    /// How often cron schedules are checked.
    pub scheduler_tick_ms: u64,
    /// With the `skip` policy, a slot this late still runs.
    pub missed_slot_grace_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            worker_id: String::new(),
            concurrency: 512,
            claim_batch: 128,
            lease_secs: 30,
            renew_every_secs: 5,
            idle_poll_ms: 250,
            endpoint_disable_after_secs: 5 * 24 * 3600,
            max_per_host: 256,
            scheduler_tick_ms: 1000,
            missed_slot_grace_secs: 60,
        }
    }
}

impl WorkerSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((1..=10_000).contains(&self.concurrency), "worker.concurrency must be within 1..=10000");
        p.check((1..=1000).contains(&self.claim_batch), "worker.claim_batch must be within 1..=1000");
        p.check((5..=3600).contains(&self.lease_secs), "worker.lease_secs must be within 5..=3600");
        p.check(
            self.renew_every_secs >= 1 && self.renew_every_secs * 2 < self.lease_secs,
            "worker.renew_every_secs must be at least 1 and under half of lease_secs",
        );
        p.check((10..=60_000).contains(&self.idle_poll_ms), "worker.idle_poll_ms must be within 10..=60000");
        p.check(self.max_per_host >= 1, "worker.max_per_host must be at least 1");
        p.check(
            (100..=60_000).contains(&self.scheduler_tick_ms),
            "worker.scheduler_tick_ms must be within 100..=60000",
        );
    }

    /// `worker_id`, or a name unique to this process.
    pub fn worker_name(&self) -> String {
        if !self.worker_id.is_empty() {
            return self.worker_id.clone();
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "task".to_owned());
        format!("{host}-{}", std::process::id())
    }
}
