//! Integration tests of the user service: the real service on a random port,
//! called over gRPC, on SQLite — and on MariaDB + Redis when
//! `WEWORK_TEST_MYSQL_URL` / `WEWORK_TEST_REDIS_URL` are set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_keys;
mod audit;
mod faults;
mod helpers;
mod login;
mod quota;
mod rbac;
mod secrets;
mod store;
mod tenants;
mod tokens;
mod users;
mod validation;
mod webhooks;
