//! Support for integration tests (feature `testing`; never in production).
//!
//! Contract: every test gets its own database and its own Redis key prefix,
//! so tests run in parallel and leave nothing behind.
//! - `WEWORK_TEST_MYSQL_URL` set (e.g. `mysql://root@127.0.0.1:3306/test`):
//!   a fresh `t_<service>_<id>` database on that server, dropped afterwards
//!   (best effort). Unset: a SQLite file in a temporary directory.
//! - `WEWORK_TEST_REDIS_URL` set: Redis with a unique `test:<id>:` prefix.
//!   Unset: in-process cache only. With `WEWORK_TEST_REDIS_CLUSTER=1` the URL
//!   lists the seeds of a Redis Cluster (scripts/redis-cluster.sh).
//!
//! Tests wait for state with [`eventually`], never with a fixed sleep.

use std::future::Future;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};

use crate::settings::{CacheSettings, DatabaseSettings, ServerSettings};

pub const MYSQL_URL_ENV: &str = "WEWORK_TEST_MYSQL_URL";
pub const REDIS_URL_ENV: &str = "WEWORK_TEST_REDIS_URL";
/// Set (to anything but `0`/empty) when `WEWORK_TEST_REDIS_URL` names the
/// seeds of a Redis Cluster (scripts/redis-cluster.sh starts one).
pub const REDIS_CLUSTER_ENV: &str = "WEWORK_TEST_REDIS_CLUSTER";

/// Whether the test Redis is a cluster (see [`REDIS_CLUSTER_ENV`]).
pub fn redis_cluster() -> bool {
    std::env::var(REDIS_CLUSTER_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A database that exists for one test. Keep it alive as long as the
/// service under test runs: dropping it deletes the data.
#[derive(Debug)]
pub struct TestDatabase {
    pub settings: DatabaseSettings,
    /// SQLite: the directory holding the file.
    _dir: Option<tempfile::TempDir>,
    /// MySQL: the server URL and the database to drop.
    mysql: Option<(String, String)>,
}

/// A new, empty database for `service` (not migrated: the service's own
/// startup or test helper runs its migrations). MySQL databases are created
/// as utf8mb4, since MariaDB's server default may still be latin1.
pub async fn fresh_database(service: &str) -> TestDatabase {
    let mut settings = DatabaseSettings::sqlite_in_data_dir(service);
    settings.max_connections = 5;
    match std::env::var(MYSQL_URL_ENV) {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("t_{}_{}", sanitize(service), short_id());
            let db = Database::connect(admin_url.as_str())
                .await
                .unwrap_or_else(|e| panic!("{MYSQL_URL_ENV}: cannot connect to {admin_url}: {e}"));
            db.execute_unprepared(&format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
            let _ = db.close().await;
            settings.url = with_database(&admin_url, &name);
            TestDatabase { settings, _dir: None, mysql: Some((admin_url, name)) }
        }
        _ => {
            let dir = tempfile::tempdir().expect("temporary directory for the test database");
            settings.url = format!("sqlite://{}?mode=rwc", dir.path().join(format!("{service}.db")).display());
            TestDatabase { settings, _dir: Some(dir), mysql: None }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.mysql.take() else { return };
        // Drop may run inside a runtime, which cannot be blocked on from
        // within; a private thread with its own runtime can.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                let drop_db = async {
                    let db = Database::connect(admin_url.as_str()).await.ok()?;
                    let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
                    db.close().await.ok()
                };
                let _ = tokio::time::timeout(Duration::from_secs(10), drop_db).await;
            });
        });
        let _ = dropper.join();
    }
}

/// `"sqlite"` or `"mysql"`, for test output.
pub fn backend_label() -> &'static str {
    match std::env::var(MYSQL_URL_ENV) {
        Ok(url) if !url.is_empty() => "mysql",
        _ => "sqlite",
    }
}

/// Cache settings for one test: Redis with a unique key prefix when
/// `WEWORK_TEST_REDIS_URL` is set, in-process otherwise.
pub fn cache_settings(service: &str) -> CacheSettings {
    let mut settings = CacheSettings::for_service(service);
    settings.redis_url = std::env::var(REDIS_URL_ENV).ok().filter(|u| !u.is_empty());
    settings.redis_cluster = redis_cluster();
    settings.key_prefix = format!("test:{}:", uuid::Uuid::now_v7().simple());
    settings.events_prefix = format!("{}events:", settings.key_prefix);
    settings
}

/// Both ports on `127.0.0.1:0` (read the real ones from
/// [`crate::server::Listeners`]) and a short shutdown grace.
pub fn server_settings() -> ServerSettings {
    ServerSettings { shutdown_grace_ms: 2_000, ..ServerSettings::on_ports(0, 0) }
}

/// Polls `check` every few milliseconds until it returns `Some`, and panics
/// if that does not happen within `deadline`.
pub async fn eventually<F, Fut, T>(deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < deadline, "condition not met within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// MySQL identifiers from a service name: `user-service` → `user_service`.
fn sanitize(service: &str) -> String {
    service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(32).collect()
}

fn short_id() -> String {
    // The random tail of a UUIDv7 (its head is the timestamp, shared by
    // databases created in the same millisecond).
    let id = uuid::Uuid::now_v7().simple().to_string();
    id[id.len() - 12..].to_owned()
}

/// Replaces the database (path) of a `mysql://user@host:port/db?opts` URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_swapped_in_mysql_urls() {
        assert_eq!(with_database("mysql://root@127.0.0.1:3306/test", "t_x"), "mysql://root@127.0.0.1:3306/t_x");
        assert_eq!(with_database("mysql://root@h:1", "t_x"), "mysql://root@h:1/t_x");
        assert_eq!(with_database("mysql://u:p@h/db?ssl-mode=disabled", "t_x"), "mysql://u:p@h/t_x?ssl-mode=disabled");
        assert_eq!(sanitize("user-service"), "user_service");
        assert_eq!(short_id().len(), 12);
    }

    #[tokio::test]
    async fn fresh_databases_are_distinct_and_usable() {
        let a = fresh_database("kit-test").await;
        let b = fresh_database("kit-test").await;
        assert_ne!(a.settings.url, b.settings.url);
        assert_eq!(a.settings.is_sqlite(), backend_label() == "sqlite");
        let db = Database::connect(a.settings.url.as_str()).await.expect("connect");
        db.execute_unprepared("CREATE TABLE t (id INT)").await.expect("usable");
        db.close().await.expect("close");
    }

    #[tokio::test]
    async fn eventually_returns_the_first_some() {
        let mut n = 0;
        let got = eventually(Duration::from_secs(5), || {
            n += 1;
            let v = (n >= 3).then_some(n);
            async move { v }
        })
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "condition not met")]
    async fn eventually_panics_at_the_deadline() {
        eventually(Duration::from_millis(20), || async { None::<()> }).await;
    }

    #[test]
    fn settings_helpers() {
        let s = server_settings();
        assert_eq!(s.grpc_addr.port(), 0);
        let c1 = cache_settings("x");
        let c2 = cache_settings("x");
        assert_ne!(c1.key_prefix, c2.key_prefix);
        assert!(matches!(backend_label(), "sqlite" | "mysql"));
    }
}
