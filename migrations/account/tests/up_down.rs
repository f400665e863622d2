//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use account_migration::Migrator;
use migration_common::testing::{Expect, up_down_on_mysql, up_down_on_sqlite};

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

const EXPECT: Expect = Expect {
    tables: TABLES,
    indexes: &[
        ("wework_accounts", "uq_wework_accounts_guid"),
        ("contacts", "uq_contacts_account_user"),
        ("group_members", "uq_group_members_account_group_user"),
    ],
};

#[tokio::test]
async fn up_down_on_sqlite_round_trips() {
    up_down_on_sqlite::<Migrator>(&EXPECT).await;
}

#[tokio::test]
async fn up_down_on_mysql_round_trips() {
    up_down_on_mysql::<Migrator>(&EXPECT).await;
}
