//! Database connections: one writer pool and an optional read-replica pool,
//! configured from [`DatabaseSettings`].
//!
//! Read-only queries that tolerate replica lag use [`Db::reader`]; everything
//! else (and any read that must see the caller's own write) uses
//! [`Db::writer`]. Without `read_url` both are the same pool.
//!
//! SQLite (the embedded default) is tuned for a server: WAL journal (readers
//! never block the writer), `synchronous=NORMAL` (durable at checkpoints, safe
//! with WAL), a 5 s busy timeout on every connection (writers queue instead of
//! failing with SQLITE_BUSY), and foreign keys enforced.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::settings::DatabaseSettings;

const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer pool and the (possibly identical) reader pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
}

impl Db {
    /// Wraps existing connections (tests, or a caller that built its own pools).
    pub fn new(writer: DatabaseConnection, reader: Option<DatabaseConnection>) -> Self {
        let reader = reader.unwrap_or_else(|| writer.clone());
        Self { writer, reader }
    }

    /// The primary: every write, and reads that must be fresh.
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// A replica when `read_url` is set, else the writer.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.writer.get_database_backend()
    }

    /// SQLite has no `SKIP LOCKED`; claim paths take the single-writer route there.
    pub fn is_sqlite(&self) -> bool {
        self.backend() == DatabaseBackend::Sqlite
    }
}

/// Connects the writer (and the reader, when `read_url` is set).
///
/// A SQLite file gets the single-writer shape: a writer pool of ONE
/// connection and a separate reader pool. SQLite admits one writer at a
/// time anyway; with several writer connections they contend for the lock
/// in the busy handler, which sleeps (1, 2, 5, 10 … ms) instead of queueing,
/// and each connection keeps its own page cache that every write
/// invalidates. One writer queues writes fairly in the pool; WAL lets the
/// readers run beside it and see every committed write.
pub async fn connect(settings: &DatabaseSettings) -> Result<Db, DbErr> {
    if settings.read_url.is_none() && is_sqlite_file(&settings.url) {
        let writer = connect_one(&settings.url, settings, Some(1)).await?;
        let reader = connect_one(&settings.url, settings, None).await?;
        return Ok(Db::new(writer, Some(reader)));
    }
    let writer = connect_one(&settings.url, settings, None).await?;
    let reader = match &settings.read_url {
        Some(url) => Some(connect_one(url, settings, None).await?),
        None => None,
    };
    Ok(Db::new(writer, reader))
}

fn is_sqlite_file(url: &str) -> bool {
    url.starts_with("sqlite:") && !url.contains(":memory:") && !url.contains("mode=memory")
}

/// [`connect`], then applies `M`'s pending migrations on the writer when
/// `settings.run_migrations` is on.
pub async fn connect_and_migrate<M: MigratorTrait>(settings: &DatabaseSettings) -> Result<Db, DbErr> {
    let db = connect(settings).await?;
    if settings.run_migrations {
        M::up(db.writer(), None).await?;
        tracing::info!("database migrations applied");
    }
    Ok(db)
}

/// Applies `M`'s pending migrations on the primary and returns: the
/// `<service> migrate` subcommand, which a deployment runs once (a Kubernetes
/// Job) before rolling out replicas started with `run_migrations = false`.
/// Migrates whatever `run_migrations` says, and never touches `read_url`.
pub async fn migrate<M: MigratorTrait>(settings: &DatabaseSettings) -> Result<(), DbErr> {
    let settings = DatabaseSettings { run_migrations: true, read_url: None, ..settings.clone() };
    connect_and_migrate::<M>(&settings).await.map(drop)
}

/// Round trip to the writer, for readiness checks.
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.writer().ping().await
}

/// `max` overrides the configured pool size (the SQLite writer's 1).
async fn connect_one(url: &str, settings: &DatabaseSettings, max: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    let max = max.unwrap_or(settings.max_connections);
    options
        .max_connections(max)
        .min_connections(settings.min_connections.min(max))
        .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .idle_timeout(Duration::from_secs(settings.idle_timeout_secs))
        .sqlx_logging(settings.log_statements);
    if url.starts_with("sqlite:") {
        prepare_sqlite_dir(url)?;
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    let conn = Database::connect(options).await?;
    tracing::info!(url = %redact_url(url), "database connected");
    Ok(conn)
}

/// SQLite creates the file but not its directory; do that for a file database.
fn prepare_sqlite_dir(url: &str) -> Result<(), DbErr> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    let parsed = SqliteConnectOptions::from_str(url).map_err(|e| DbErr::Custom(format!("invalid sqlite url: {e}")))?;
    if let Some(dir) = parsed.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create database directory {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// The URL with any password replaced, safe for logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..].find('/').map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or_default();
    if user.len() == userinfo.len() {
        return url.to_owned();
    }
    format!("{}{user}:***{}", &url[..scheme_end], &url[scheme_end + at..])
}

/// Tries of [`retry_transient`]: enough to ride out an InnoDB deadlock or a
/// busy SQLite writer, few enough to answer quickly when the database is down.
pub const TRANSIENT_TRIES: u32 = 4;

/// Runs `op` again when it fails with a transient error (deadlock, lock wait
/// timeout, busy database): up to [`TRANSIENT_TRIES`] tries, 20 ms doubling,
/// ±50 % jitter. InnoDB picks deadlock victims under contention by design;
/// the victim's statement is safe to repeat. Other errors return at once.
pub async fn retry_transient<T, F, Fut>(mut op: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match op().await {
            Err(e)
                if tries < TRANSIENT_TRIES
                    && crate::errors::classify_db_err(&e) == crate::errors::DbErrorKind::Unavailable =>
            {
                let base = 20u64 << (tries - 1);
                let jitter = base / 2;
                let wait = rand::Rng::gen_range(&mut rand::thread_rng(), base - jitter..=base + jitter);
                tracing::debug!(error = %e, tries, "transient database error; retrying");
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            other => return other,
        }
    }
}

/// A fresh UUIDv7 row id: time-ordered, so inserts stay append-only in the
/// primary key, and unique across replicas without coordination.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Serialises a value for a JSON `text` column (both backends store JSON as
/// text). Plain data types always serialise; `null` is the safe fallback.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Parses a stored JSON column, reporting bad stored data as `DbErr::Json`
/// (a database problem, not the caller's).
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;
    use crate::errors::{DbErrorKind, classify_db_err};

    fn settings_in(dir: &std::path::Path) -> DatabaseSettings {
        DatabaseSettings {
            url: format!("sqlite://{}/sub/dir/t.db?mode=rwc", dir.display()),
            ..DatabaseSettings::sqlite_in_data_dir("t")
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("mysql://app:s3cr3t@db:3306/user"), "mysql://app:***@db:3306/user");
        assert_eq!(redact_url("mysql://app@db/user"), "mysql://app@db/user");
        assert_eq!(redact_url("sqlite://data/x.db?mode=rwc"), "sqlite://data/x.db?mode=rwc");
    }

    #[tokio::test]
    async fn sqlite_file_gets_directory_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = connect(&settings_in(dir.path())).await.expect("connects");
        assert!(db.is_sqlite());
        ping(&db).await.expect("ping");
        let conn = db.writer();
        let row = |sql: &str| conn.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql.to_owned()));
        let mode: String = row("PRAGMA journal_mode").await.expect("q").expect("row").try_get_by_index(0).expect("v");
        assert_eq!(mode.to_lowercase(), "wal");
        let fk: i32 = row("PRAGMA foreign_keys").await.expect("q").expect("row").try_get_by_index(0).expect("v");
        assert_eq!(fk, 1);
        let busy: i32 = row("PRAGMA busy_timeout").await.expect("q").expect("row").try_get_by_index(0).expect("v");
        assert_eq!(busy, 5_000);
    }

    struct CreateT;

    impl sea_orm_migration::MigrationName for CreateT {
        fn name(&self) -> &str {
            "m0001_create_t"
        }
    }

    #[async_trait::async_trait]
    impl sea_orm_migration::MigrationTrait for CreateT {
        async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), DbErr> {
            manager.get_connection().execute_unprepared("CREATE TABLE t (id TEXT PRIMARY KEY)").await.map(|_| ())
        }
    }

    struct Migrator;

    impl MigratorTrait for Migrator {
        fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
            vec![Box::new(CreateT)]
        }
    }

    #[tokio::test]
    async fn migrations_run_once_and_only_when_enabled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = settings_in(dir.path());
        settings.run_migrations = false;
        let db = connect_and_migrate::<Migrator>(&settings).await.expect("connects");
        assert!(db.writer().execute_unprepared("INSERT INTO t VALUES ('a')").await.is_err(), "not migrated");
        settings.run_migrations = true;
        let db = connect_and_migrate::<Migrator>(&settings).await.expect("migrates");
        connect_and_migrate::<Migrator>(&settings).await.expect("second run is a no-op");
        db.reader().execute_unprepared("INSERT INTO t VALUES ('a')").await.expect("table exists");
    }

    #[tokio::test]
    async fn migrate_applies_even_when_start_time_migrations_are_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = settings_in(dir.path());
        settings.run_migrations = false;
        migrate::<Migrator>(&settings).await.expect("migrates");
        migrate::<Migrator>(&settings).await.expect("second run is a no-op");
        let db = connect(&settings).await.expect("connects");
        db.writer().execute_unprepared("INSERT INTO t VALUES ('a')").await.expect("table exists");
    }

    #[tokio::test]
    async fn sqlite_unique_violation_is_classified_duplicate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = connect(&settings_in(dir.path())).await.expect("connects");
        db.writer().execute_unprepared("CREATE TABLE t (id TEXT PRIMARY KEY, code TEXT UNIQUE)").await.expect("ddl");
        db.writer().execute_unprepared("INSERT INTO t VALUES ('a', 'x')").await.expect("insert");
        let dup_pk = db.writer().execute_unprepared("INSERT INTO t VALUES ('a', 'y')").await.expect_err("pk");
        assert_eq!(classify_db_err(&dup_pk), DbErrorKind::Duplicate);
        let dup_uq = db.writer().execute_unprepared("INSERT INTO t VALUES ('b', 'x')").await.expect_err("unique");
        assert_eq!(classify_db_err(&dup_uq), DbErrorKind::Duplicate);
        let syntax = db.writer().execute_unprepared("INSERT INTO nope VALUES (1)").await.expect_err("no table");
        assert_eq!(classify_db_err(&syntax), DbErrorKind::Other);
    }
}
