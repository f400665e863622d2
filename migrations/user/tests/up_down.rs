//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use migration_common::testing::{Expect, up_down_on_mysql, up_down_on_sqlite};
use user_migration::Migrator;

const TABLES: &[&str] = &[
    "tenants",
    "users",
    "roles",
    "permissions",
    "role_permissions",
    "user_roles",
    "user_sessions",
    "api_keys",
    "audit_logs",
    "signing_keys",
    "daily_message_usage",
];

const EXPECT: Expect = Expect { tables: TABLES, indexes: &[("users", "uq_users_tenant_email")] };

#[tokio::test]
async fn up_down_on_sqlite_round_trips() {
    up_down_on_sqlite::<Migrator>(&EXPECT).await;
}

#[tokio::test]
async fn up_down_on_mysql_round_trips() {
    up_down_on_mysql::<Migrator>(&EXPECT).await;
}
