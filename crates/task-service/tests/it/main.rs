//! Integration tests of the task center: the real service on a random port,
//! called over gRPC, delivering to a local HTTP sink. SQLite by default;
//! MariaDB and Redis when `WEWORK_TEST_MYSQL_URL` / `WEWORK_TEST_REDIS_URL`
//! are set (scripts/test.sh runs both).

mod helpers;
mod sink;
mod user_service;

mod audit;
mod business;
mod delivery;
mod endpoints;
mod events;
mod leases;
mod schedules;
mod tasks;
mod tenant_webhook;
