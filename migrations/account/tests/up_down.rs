//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use account_migration::Migrator;
use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const TABLES: &[&str] = &[
    "wework_instances",
    "wework_accounts",
    "account_status_history",
    "tenant_account_usage",
    "conversations",
    "contacts",
    "groups",
    "group_members",
];

async fn round_trip(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("migrate up");
    let manager = sea_orm_migration::SchemaManager::new(db);
    for t in TABLES {
        assert!(manager.has_table(*t).await.expect("has_table"), "{t} missing after up");
    }
    assert!(manager.has_index("wework_accounts", "uq_wework_accounts_guid").await.expect("has_index"));
    assert!(manager.has_index("contacts", "uq_contacts_account_user").await.expect("has_index"));
    assert!(manager.has_index("group_members", "uq_group_members_account_group_user").await.expect("has_index"));
    Migrator::down(db, None).await.expect("migrate down");
    for t in TABLES {
        assert!(!manager.has_table(*t).await.expect("has_table"), "{t} left after down");
    }
    // Down must leave a schema that up can rebuild.
    Migrator::up(db, None).await.expect("migrate up again");
}

#[tokio::test]
async fn up_down_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("account.db").display());
    let db = Database::connect(&url).await.expect("connect sqlite");
    round_trip(&db).await;
}

#[tokio::test]
async fn up_down_on_mysql() {
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
    round_trip(&db).await;
    db.close().await.expect("close");
    admin.execute_unprepared(&format!("DROP DATABASE `{name}`")).await.expect("drop database");
}
