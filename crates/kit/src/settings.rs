//! Layered settings shared by every service: built-in defaults, then an
//! optional `config/<service>.toml`, then `WEWORK__SECTION__KEY` environment
//! variables (env wins, so a container can override anything). Each service
//! composes its own `Settings` struct from the sections here and calls
//! [`load`]; nothing reads configuration globally.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Why settings could not be loaded or are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not read settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid settings: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Loads `T` from its defaults, `config/<service>.toml` (optional, relative to
/// the working directory or `WEWORK_CONFIG_DIR`) and `WEWORK__…` env vars.
pub fn load<T>(service: &str) -> Result<T, SettingsError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let dir = std::env::var("WEWORK_CONFIG_DIR").unwrap_or_else(|_| "config".to_owned());
    let file = PathBuf::from(dir).join(service);
    let built = config::Config::builder()
        .add_source(config::Config::try_from(&T::default())?)
        .add_source(config::File::from(file).required(false))
        .add_source(config::Environment::with_prefix("WEWORK").prefix_separator("__").separator("__").try_parsing(true))
        .build()?;
    Ok(built.try_deserialize()?)
}

/// Collects every problem instead of stopping at the first, so an operator
/// fixes a bad config in one pass.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    pub fn check(&mut self, ok: bool, problem: impl Into<String>) {
        if !ok {
            self.0.push(problem.into());
        }
    }

    pub fn into_result(self) -> Result<(), SettingsError> {
        if self.0.is_empty() { Ok(()) } else { Err(SettingsError::Invalid(self.0)) }
    }
}

/// Where the gRPC and the metrics/health HTTP ports listen, and how the
/// server protects itself under load.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    /// Deadline applied to every RPC (a shorter client deadline wins).
    pub request_timeout_ms: u64,
    /// In-flight RPCs per server; past it requests are shed with UNAVAILABLE.
    pub concurrency_limit: usize,
    /// How long in-flight RPCs may take to finish after a shutdown signal.
    pub shutdown_grace_ms: u64,
}

impl ServerSettings {
    /// Defaults for a service on its well-known ports (see README).
    pub fn on_ports(grpc_port: u16, http_port: u16) -> Self {
        Self {
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], grpc_port)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], http_port)),
            request_timeout_ms: 10_000,
            concurrency_limit: 4_096,
            shutdown_grace_ms: 10_000,
        }
    }

    pub fn validate(&self, p: &mut Problems) {
        p.check(self.request_timeout_ms > 0, "server.request_timeout_ms must be > 0");
        p.check(self.concurrency_limit > 0, "server.concurrency_limit must be > 0");
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self::on_ports(0, 0)
    }
}

/// Database connection. `url` is `sqlite://…` (embedded default) or
/// `mysql://…` (MySQL 8 / MariaDB 10.6+). `read_url`, when set, serves
/// read-only queries (a replica).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    pub url: String,
    pub read_url: Option<String>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_ms: u64,
    pub acquire_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    /// Apply pending migrations at start (on by default; production may run them as a job).
    pub run_migrations: bool,
    /// Log every SQL statement (debugging only).
    pub log_statements: bool,
}

impl DatabaseSettings {
    /// The embedded default: a SQLite file under `./data/`.
    pub fn sqlite_in_data_dir(service: &str) -> Self {
        Self {
            url: format!("sqlite://data/{service}.db?mode=rwc"),
            read_url: None,
            max_connections: 16,
            min_connections: 1,
            connect_timeout_ms: 5_000,
            acquire_timeout_ms: 5_000,
            idle_timeout_secs: 600,
            run_migrations: true,
            log_statements: false,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    pub fn validate(&self, p: &mut Problems) {
        let known = |u: &str| u.starts_with("sqlite:") || u.starts_with("mysql://") || u.starts_with("mariadb://");
        p.check(known(&self.url), "database.url must start with sqlite: or mysql://");
        if let Some(read) = &self.read_url {
            p.check(known(read), "database.read_url must start with sqlite: or mysql://");
        }
        p.check(self.max_connections > 0, "database.max_connections must be > 0");
        p.check(self.min_connections <= self.max_connections, "database.min_connections must be <= max_connections");
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self::sqlite_in_data_dir("service")
    }
}

/// The node URLs in `cache.redis_url`: one, or a cluster's seeds comma
/// separated (`redis://a:1, redis://b:2`), blanks dropped.
pub fn redis_seeds(url: &str) -> Vec<&str> {
    url.split(',').map(str::trim).filter(|seed| !seed.is_empty()).collect()
}

/// See [`CacheSettings::events_prefix`].
pub const DEFAULT_EVENTS_PREFIX: &str = "wework:events:";

/// Cache: in-process only when `redis_url` is unset; otherwise Redis with a
/// small in-process L1 in front.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// `redis://[:password@]host:port[/db]`; with `redis_cluster`, the seed
    /// nodes comma separated (`redis://a:6379,redis://b:6379`).
    pub redis_url: Option<String>,
    /// Talk to a Redis Cluster: keys spread over its shards, pub/sub on any
    /// node. Off for one Redis endpoint (a primary, or a failover address in
    /// front of one).
    pub redis_cluster: bool,
    /// Prepended to every Redis key, e.g. `wework:user:`.
    pub key_prefix: String,
    pub default_ttl_secs: u64,
    /// Entries in the in-process cache (L1 or the only store).
    pub l1_capacity: u64,
    /// L1 entries live at most this long, bounding staleness across replicas
    /// even if an invalidation message is lost.
    pub l1_ttl_secs: u64,
    /// Timeout of one Redis command; past it the cache is treated as down.
    pub redis_timeout_ms: u64,
    /// Redis pub/sub namespace of live tenant events, `<prefix><tenant id>`.
    /// Platform-wide on purpose — the same in every service — so the task
    /// center's announcements reach the gateway's subscribers.
    pub events_prefix: String,
}

impl CacheSettings {
    pub fn for_service(service: &str) -> Self {
        Self {
            redis_url: None,
            redis_cluster: false,
            key_prefix: format!("wework:{service}:"),
            default_ttl_secs: 300,
            l1_capacity: 100_000,
            l1_ttl_secs: 30,
            redis_timeout_ms: 500,
            events_prefix: DEFAULT_EVENTS_PREFIX.to_owned(),
        }
    }

    pub fn validate(&self, p: &mut Problems) {
        if let Some(url) = &self.redis_url {
            let seeds = redis_seeds(url);
            p.check(
                !seeds.is_empty()
                    && seeds.iter().all(|seed| seed.starts_with("redis://") || seed.starts_with("rediss://")),
                "cache.redis_url must start with redis:// (or list redis:// seeds, comma separated)",
            );
            p.check(
                self.redis_cluster || seeds.len() <= 1,
                "cache.redis_url lists several nodes: set cache.redis_cluster = true",
            );
        }
        p.check(self.default_ttl_secs > 0, "cache.default_ttl_secs must be > 0");
        p.check(self.redis_timeout_ms > 0, "cache.redis_timeout_ms must be > 0");
    }
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self::for_service("service")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// `WEWORK__LOG__FORMAT=json` for machines; `RUST_LOG` overrides `level`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, level: "info".to_owned() }
    }
}

/// How services authenticate callers and each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// The user service, which publishes the public keys of user tokens.
    pub user_service_url: String,
    pub issuer: String,
    pub audience: String,
    /// Public keys are refetched at this interval, and at once on an unknown `kid`.
    pub jwks_refresh_secs: u64,
    /// Lifetime of service tokens minted for service-to-service calls.
    pub service_token_ttl_secs: u64,
    /// Shared secret that signs service tokens. When unset, read from (or
    /// generated into) `<data_dir>/internal-token.secret` — fine for one
    /// machine; set it explicitly when services run apart.
    #[serde(skip_serializing)]
    pub internal_secret: Option<SecretString>,
    /// Master key (32 bytes, base64) that encrypts secrets kept at rest. When
    /// unset, read from (or generated into) `<data_dir>/master.key`.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    pub data_dir: PathBuf,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            user_service_url: "http://127.0.0.1:50051".to_owned(),
            issuer: "wework-user".to_owned(),
            audience: "wework".to_owned(),
            jwks_refresh_secs: 300,
            service_token_ttl_secs: 300,
            internal_secret: None,
            master_key: None,
            data_dir: PathBuf::from("data"),
        }
    }
}

impl AuthSettings {
    pub fn validate(&self, p: &mut Problems) {
        p.check(self.user_service_url.starts_with("http"), "auth.user_service_url must be an http(s) URL");
        p.check(!self.issuer.is_empty(), "auth.issuer must not be empty");
        p.check(!self.audience.is_empty(), "auth.audience must not be empty");
        p.check(
            (30..=3_600).contains(&self.service_token_ttl_secs),
            "auth.service_token_ttl_secs must be within 30..=3600",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(default)]
    struct Demo {
        server: ServerSettings,
        database: DatabaseSettings,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self {
                server: ServerSettings::on_ports(50051, 9051),
                database: DatabaseSettings::sqlite_in_data_dir("demo"),
            }
        }
    }

    #[test]
    fn defaults_load_without_any_file_or_env() {
        let demo: Demo = load("does-not-exist").expect("defaults load");
        assert_eq!(demo.server.grpc_addr.port(), 50051);
        assert!(demo.database.is_sqlite());
    }

    #[test]
    fn problems_are_all_reported() {
        let mut p = Problems::default();
        let mut db = DatabaseSettings::sqlite_in_data_dir("x");
        db.url = "postgres://nope".into();
        db.max_connections = 0;
        db.validate(&mut p);
        let err = p.into_result().expect_err("invalid").to_string();
        assert!(err.contains("database.url") && err.contains("max_connections"), "{err}");
    }

    #[test]
    fn seeds_are_split_on_commas_and_trimmed() {
        assert_eq!(redis_seeds("redis://a:1"), ["redis://a:1"]);
        assert_eq!(redis_seeds(" redis://a:1 ,redis://b:2,, "), ["redis://a:1", "redis://b:2"]);
    }

    #[test]
    fn a_list_of_redis_seeds_needs_cluster_mode_and_redis_urls() {
        let check = |url: &str, cluster: bool| {
            let mut p = Problems::default();
            let cache =
                CacheSettings { redis_url: Some(url.into()), redis_cluster: cluster, ..CacheSettings::default() };
            cache.validate(&mut p);
            p.into_result().map_err(|e| e.to_string())
        };
        assert!(check("redis://a:6379", false).is_ok());
        assert!(check("redis://a:6379", true).is_ok(), "one seed of a cluster");
        assert!(check("redis://a:1, redis://b:2,redis://c:3", true).is_ok());
        let err = check("redis://a:1,redis://b:2", false).expect_err("several nodes");
        assert!(err.contains("cache.redis_cluster"), "{err}");
        let err = check("redis://a:1,http://b:2", true).expect_err("not redis");
        assert!(err.contains("cache.redis_url"), "{err}");
        assert!(check(" , ", true).is_err(), "no seed at all");
    }
}
