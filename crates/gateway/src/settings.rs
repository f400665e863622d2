//! Settings of the gateway: where it listens, the services it fronts, and the
//! limits that protect them from front ends. Loaded once and passed down.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};
use wework_kit::settings::{AuthSettings, CacheSettings, LogSettings, Problems, ServerSettings, SettingsError};

/// Public REST port, and the ops port (metrics, health) beside it.
pub const API_PORT: u16 = 8080;
pub const OPS_PORT: u16 = 9050;
pub const SERVICE_NAME: &str = "gateway";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// `http_addr` is the ops port (`/metrics`, `/healthz`, `/readyz`); the
    /// gateway has no gRPC port of its own, so `grpc_addr` is unused.
    pub server: ServerSettings,
    pub gateway: GatewaySettings,
    /// Only for the live event stream (Redis pub/sub, in process without Redis).
    pub cache: CacheSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub integrations: IntegrationSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(0, OPS_PORT),
            gateway: GatewaySettings::default(),
            cache: CacheSettings::for_service(SERVICE_NAME),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            integrations: IntegrationSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/gateway.toml` → `WEWORK__…` env vars, validated.
    pub fn load() -> Result<Self, SettingsError> {
        let settings: Self = wework_kit::settings::load(SERVICE_NAME)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut p = Problems::default();
        self.server.validate(&mut p);
        self.cache.validate(&mut p);
        self.auth.validate(&mut p);
        self.gateway.validate(&mut p);
        self.integrations.validate(&mut p);
        p.into_result()
    }
}

/// The public API's own behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewaySettings {
    pub listen_addr: SocketAddr,
    /// Comma-separated origins allowed to call from a browser (`*` allows
    /// any, without credentials). Empty: no CORS headers, same-origin front
    /// ends only. A string, so `WEWORK__GATEWAY__CORS_ORIGINS=a,b` works.
    pub cors_origins: String,
    /// Request bodies larger than this are refused with 413 (batch CSV
    /// imports have their own, larger limit: `import_body_bytes`).
    pub max_body_bytes: usize,
    pub import_body_bytes: usize,
    /// Whole-request deadline, passed to the services as the gRPC deadline.
    pub request_timeout_ms: u64,
    /// Connect timeout to each service.
    pub connect_timeout_ms: u64,
    /// Token bucket per client IP: sustained requests per second and burst.
    pub per_ip_rps: u32,
    pub per_ip_burst: u32,
    /// Rate and burst per authenticated principal (user or API key), shared by
    /// every gateway replica through Redis (per replica without Redis).
    pub per_principal_rps: u32,
    pub per_principal_burst: u32,
    /// Share the per-principal limit through Redis (one round trip per
    /// authenticated request). Off: each replica limits on its own and no
    /// request waits for Redis.
    pub per_principal_shared: bool,
    /// Take the client IP from the first `X-Forwarded-For` hop. Only behind a
    /// proxy that sets it; otherwise any client could pick its own bucket.
    pub trust_forwarded_for: bool,
    /// How long an authenticated API key is remembered. Revocations announced
    /// by the user service drop it at once; this bounds the rest (a key whose
    /// user lost permissions, a notice lost with Redis).
    pub api_key_cache_secs: u64,
    /// Lifetime of the token minted for an API-key caller.
    pub api_key_token_ttl_secs: u64,
    /// Comment lines sent on an idle event stream so proxies keep it open.
    pub sse_keepalive_secs: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], API_PORT)),
            cors_origins: String::new(),
            max_body_bytes: 1024 * 1024,
            import_body_bytes: 12 * 1024 * 1024,
            request_timeout_ms: 30_000,
            connect_timeout_ms: 2_000,
            per_ip_rps: 200,
            per_ip_burst: 400,
            per_principal_rps: 100,
            per_principal_burst: 200,
            per_principal_shared: true,
            trust_forwarded_for: false,
            api_key_cache_secs: 30,
            api_key_token_ttl_secs: 300,
            sse_keepalive_secs: 15,
        }
    }
}

impl GatewaySettings {
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()
    }

    fn validate(&self, p: &mut Problems) {
        p.check(self.max_body_bytes >= 1024, "gateway.max_body_bytes must be >= 1024");
        p.check(self.import_body_bytes >= self.max_body_bytes, "gateway.import_body_bytes must be >= max_body_bytes");
        p.check(self.request_timeout_ms > 0, "gateway.request_timeout_ms must be > 0");
        p.check(self.connect_timeout_ms > 0, "gateway.connect_timeout_ms must be > 0");
        p.check(self.per_ip_rps > 0 && self.per_ip_burst > 0, "gateway.per_ip_rps and per_ip_burst must be > 0");
        p.check(
            self.per_principal_rps > 0 && self.per_principal_burst > 0,
            "gateway.per_principal_rps and per_principal_burst must be > 0",
        );
        p.check(self.api_key_token_ttl_secs >= 30, "gateway.api_key_token_ttl_secs must be >= 30");
        p.check(
            self.api_key_cache_secs < self.api_key_token_ttl_secs,
            "gateway.api_key_cache_secs must be < api_key_token_ttl_secs",
        );
        p.check(self.sse_keepalive_secs > 0, "gateway.sse_keepalive_secs must be > 0");
        for origin in &self.cors_origins() {
            p.check(
                origin == "*" || origin.starts_with("http://") || origin.starts_with("https://"),
                format!("gateway.cors_origins: {origin:?} is not `*` or an http(s) origin"),
            );
        }
    }
}

/// The services behind the gateway (the user service is `auth.user_service_url`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationSettings {
    pub account_service_url: String,
    pub message_service_url: String,
    pub callback_service_url: String,
    pub task_service_url: String,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            account_service_url: "http://127.0.0.1:50052".to_owned(),
            message_service_url: "http://127.0.0.1:50053".to_owned(),
            callback_service_url: "http://127.0.0.1:50054".to_owned(),
            task_service_url: "http://127.0.0.1:50055".to_owned(),
        }
    }
}

impl IntegrationSettings {
    fn validate(&self, p: &mut Problems) {
        for (name, url) in [
            ("account_service_url", &self.account_service_url),
            ("message_service_url", &self.message_service_url),
            ("callback_service_url", &self.callback_service_url),
            ("task_service_url", &self.task_service_url),
        ] {
            p.check(url.starts_with("http"), format!("integrations.{name} must be an http(s) URL"));
        }
    }
}
