//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use callback_migration::Migrator;
use migration_common::testing::{Expect, up_down_on_mysql, up_down_on_sqlite};

const EXPECT: Expect = Expect {
    tables: &["callback_events", "wecom_apps"],
    indexes: &[
        ("callback_events", "uq_callback_events_dedup"),
        ("callback_events", "ix_callback_events_due"),
        ("callback_events", "ix_callback_events_order"),
        ("callback_events", "ix_callback_events_claim"),
        ("callback_events", "ix_callback_events_guid_received"),
        ("callback_events", "ix_callback_events_tenant_received"),
        ("callback_events", "ix_callback_events_account_received"),
        ("wecom_apps", "uq_wecom_apps_tenant_name"),
        ("wecom_apps", "ix_wecom_apps_tenant_corp"),
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
