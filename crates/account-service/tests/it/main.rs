//! Integration tests of the account service: the real service on a random
//! port, a real user service (tokens, the tenant's `max_accounts`), and a
//! WeWork simulator registered as its protocol instance. Instance callbacks
//! are forwarded by the test through `ReportEvent`, as the callback service
//! will. SQLite by default; MariaDB and Redis when `WEWORK_TEST_MYSQL_URL` /
//! `WEWORK_TEST_REDIS_URL` are set.

mod helpers;

mod cache;
mod directory;
mod edges;
mod events;
mod faults;
mod instances;
mod isolation;
mod login;
mod quota;
mod send_target;
mod sessions;
mod transitions;
mod validation;
mod watchdog;
