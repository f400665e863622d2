//! The DDL helpers every schema's migrations share, so each service's
//! tables come out the same way: utf8mb4 with byte-wise collation on MySQL,
//! microsecond timestamps that round-trip chrono on both backends, named
//! indexes. Contract of every schema: runs unchanged on MySQL 8 / MariaDB
//! 10.6+ and SQLite — no partial indexes, no partitioning.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// A `CREATE TABLE` with the table options every table of every schema shares.
///
/// On MySQL the charset is pinned to utf8mb4 (MariaDB still defaults to latin1)
/// and the collation to `utf8mb4_bin`, so uniqueness, `=` and ordering are
/// byte-wise exactly as on SQLite; case-insensitive matching is done
/// explicitly with `LOWER()` in the store.
pub fn table(manager: &SchemaManager, name: impl IntoIden + 'static) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name);
    if manager.get_database_backend() == DbBackend::MySql {
        t.engine("InnoDB").character_set("utf8mb4").collate("utf8mb4_bin");
    }
    t
}

/// A UUIDv7 / key id column: `varchar(len)`, not null.
pub fn id_col(col: impl IntoIden, len: u32) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    c.string_len(len).not_null();
    c
}

/// A timestamp column that round-trips chrono `DateTime<Utc>` on both backends.
///
/// MySQL gets `datetime(6)`: `timestamp` is limited to 2038, converts through
/// the session time zone and (plain `datetime`) would drop the microseconds
/// that `(created_at, id)` cursors rely on. SQLite stores sqlx's RFC 3339 text,
/// which sorts chronologically because every value is written in UTC.
pub fn ts(manager: &SchemaManager, col: impl IntoIden, nullable: bool) -> ColumnDef {
    let mut c = ColumnDef::new(col);
    if manager.get_database_backend() == DbBackend::MySql {
        c.custom(Alias::new("datetime(6)"));
    } else {
        c.date_time();
    }
    if nullable {
        c.null();
    } else {
        c.not_null();
    }
    c
}

/// A named (optionally unique) index on `cols` of `table`.
pub fn index<T, C>(name: &str, table: T, cols: &[C], unique: bool) -> IndexCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + Clone + 'static,
{
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c.clone());
    }
    if unique {
        i.unique();
    }
    i
}

/// The round trip every schema's migration tests run.
#[cfg(feature = "testing")]
pub mod testing {
    use sea_orm_migration::MigratorTrait;
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};

    /// What a schema must have after `up` (and lose after `down`).
    pub struct Expect<'a> {
        pub tables: &'a [&'a str],
        /// `(table, index)` pairs.
        pub indexes: &'a [(&'a str, &'a str)],
    }

    async fn round_trip<M: MigratorTrait>(db: &DatabaseConnection, expect: &Expect<'_>) {
        M::up(db, None).await.expect("migrate up");
        let manager = sea_orm_migration::SchemaManager::new(db);
        for t in expect.tables {
            assert!(manager.has_table(*t).await.expect("has_table"), "{t} missing after up");
        }
        for (table, index) in expect.indexes {
            assert!(manager.has_index(*table, *index).await.expect("has_index"), "{table}.{index} missing");
        }
        M::down(db, None).await.expect("migrate down");
        for t in expect.tables {
            assert!(!manager.has_table(*t).await.expect("has_table"), "{t} left after down");
        }
        // Down must leave a schema that up can rebuild.
        M::up(db, None).await.expect("migrate up again");
    }

    /// Up, down and up again on a fresh SQLite file.
    pub async fn up_down_on_sqlite<M: MigratorTrait>(expect: &Expect<'_>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("schema.db").display());
        let db = Database::connect(&url).await.expect("connect sqlite");
        round_trip::<M>(&db, expect).await;
    }

    /// The same on a throwaway MariaDB/MySQL database when
    /// `WEWORK_TEST_MYSQL_URL` is set (nothing otherwise).
    pub async fn up_down_on_mysql<M: MigratorTrait>(expect: &Expect<'_>) {
        let Ok(url) = std::env::var("WEWORK_TEST_MYSQL_URL") else {
            return;
        };
        let admin = Database::connect(&url).await.expect("connect mysql");
        let name = format!("t_mig_{}", uuid::Uuid::now_v7().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
            .await
            .expect("create database");
        let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
        let db = Database::connect(&format!("{base}/{name}")).await.expect("connect test database");
        round_trip::<M>(&db, expect).await;
        db.close().await.expect("close");
        admin.execute_unprepared(&format!("DROP DATABASE `{name}`")).await.expect("drop database");
    }
}
