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
