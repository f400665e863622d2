//! The migrator runs up, down and up again on a fresh SQLite file, and on a
//! throwaway MariaDB/MySQL database when `WEWORK_TEST_MYSQL_URL` is set.

use migration_common::testing::{Expect, up_down_on_mysql, up_down_on_sqlite};
use task_migration::Migrator;

const TABLES: &[&str] =
    &["business_systems", "endpoints", "tasks", "task_executions", "task_schedules", "schedule_ticks"];

const EXPECT: Expect = Expect { tables: TABLES, indexes: &[("tasks", "uq_tasks_business_unique")] };

#[tokio::test]
async fn up_down_on_sqlite_round_trips() {
    up_down_on_sqlite::<Migrator>(&EXPECT).await;
}

#[tokio::test]
async fn up_down_on_mysql_round_trips() {
    up_down_on_mysql::<Migrator>(&EXPECT).await;
}
