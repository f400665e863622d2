//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use message_migration::Migrator;
use migration_common::testing::{Expect, up_down_on_mysql, up_down_on_sqlite};

const TABLES: &[&str] =
    &["messages", "message_statistics", "message_templates", "batch_send_tasks", "message_receivers"];

const EXPECT: Expect = Expect {
    tables: TABLES,
    indexes: &[
        ("messages", "uq_messages_tenant_idempotency"),
        ("messages", "ix_messages_due"),
        ("message_statistics", "uq_message_statistics_slot"),
        ("message_templates", "uq_message_templates_tenant_name"),
        ("message_receivers", "uq_message_receivers_batch_key"),
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
