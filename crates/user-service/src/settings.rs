//! Settings of the user service: the kit's shared sections plus token
//! lifetimes, the first-start bootstrap and the services it calls. Loaded once in `main` (or by the
//! all-in-one binary) and passed down; nothing reads configuration globally.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use wework_kit::settings::{
    AuthSettings, CacheSettings, DatabaseSettings, LogSettings, Problems, ServerSettings, SettingsError,
};

/// Well-known ports of the user service (gRPC, metrics/health HTTP).
pub const GRPC_PORT: u16 = 50051;
pub const HTTP_PORT: u16 = 9051;
pub const SERVICE_NAME: &str = "user-service";
/// Where the task center listens by default (its well-known gRPC port).
pub const DEFAULT_TASK_SERVICE_URL: &str = "http://127.0.0.1:50055";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub cache: CacheSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub tokens: TokenSettings,
    pub bootstrap: BootstrapSettings,
    pub integrations: IntegrationSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_ports(GRPC_PORT, HTTP_PORT),
            database: DatabaseSettings::sqlite_in_data_dir("user"),
            cache: CacheSettings::for_service("user"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            tokens: TokenSettings::default(),
            bootstrap: BootstrapSettings::default(),
            integrations: IntegrationSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults → `config/user-service.toml` → `WEWORK__…` env vars, validated.
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
        self.tokens.validate(&mut p);
        self.integrations.validate(&mut p);
        p.into_result()
    }
}

/// Token lifetimes. Access tokens are short because other services verify
/// them locally and cannot see a revocation; refresh tokens carry the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenSettings {
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// A just-rotated refresh token still works this long, so a client that
    /// lost the Refresh response can retry without being logged out (RFC 9700).
    pub refresh_grace_secs: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self { access_ttl_secs: 900, refresh_ttl_secs: 30 * 24 * 3600, refresh_grace_secs: 30 }
    }
}

impl TokenSettings {
    fn validate(&self, p: &mut Problems) {
        p.check((60..=3600).contains(&self.access_ttl_secs), "tokens.access_ttl_secs must be within 60..=3600");
        p.check(self.refresh_ttl_secs > self.access_ttl_secs, "tokens.refresh_ttl_secs must exceed access_ttl_secs");
        p.check((0..=300).contains(&self.refresh_grace_secs), "tokens.refresh_grace_secs must be within 0..=300");
    }
}

/// The platform super-admin created on first start with an empty database.
/// Without a configured password one is generated and printed once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapSettings {
    pub admin_username: String,
    pub admin_email: String,
    #[serde(skip_serializing)]
    pub admin_password: Option<SecretString>,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            admin_username: "admin".to_owned(),
            admin_email: "admin@platform.local".to_owned(),
            admin_password: None,
        }
    }
}

/// Other services this one calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationSettings {
    /// The task center, which delivers tenant webhooks: a tenant's
    /// `webhook_url` is kept there as its endpoint. Unset or empty turns that
    /// off (tenant webhooks are then stored here but never delivered), which
    /// suits tests and a user service deployed alone.
    pub task_service_url: Option<String>,
}

impl Default for IntegrationSettings {
    fn default() -> Self {
        Self { task_service_url: Some(DEFAULT_TASK_SERVICE_URL.to_owned()) }
    }
}

impl IntegrationSettings {
    /// The task center's URL, `None` when the hook is off.
    pub fn task_service_url(&self) -> Option<&str> {
        self.task_service_url.as_deref().map(str::trim).filter(|u| !u.is_empty())
    }

    fn validate(&self, p: &mut Problems) {
        if let Some(url) = self.task_service_url() {
            p.check(url.starts_with("http"), "integrations.task_service_url must be an http(s) URL");
        }
    }
}
