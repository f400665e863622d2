//! Integration tests of the callback service: the real service on a random
//! port with real user, account, message and task services and a WeWork
//! simulator whose callbacks arrive signed at the ingest URL. SQLite by
//! default; MariaDB and Redis when `WEWORK_TEST_MYSQL_URL` /
//! `WEWORK_TEST_REDIS_URL` are set.

/// The services' binaries run on mimalloc; so do their tests (and benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod helpers;
mod platform;

mod api;
mod bench;
mod flow;
mod ingest;
mod processor;
mod wecom;
