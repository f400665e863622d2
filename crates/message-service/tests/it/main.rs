//! Integration tests of the message service: the real service on a random
//! port, a real user service (tokens, daily quota, tenant config), a real
//! account service (send targets, directory) and a WeWork simulator as the
//! protocol instance. SQLite by default; MariaDB and Redis when
//! `WEWORK_TEST_MYSQL_URL` / `WEWORK_TEST_REDIS_URL` are set.

mod accounts;
mod helpers;

mod batch_dispatch;
mod batch_support;
mod batches;
mod bench;
mod delivery;
mod dispatch;
mod dispatch_support;
mod end_to_end;
mod events;
mod harness;
mod messages;
mod messages_support;
mod retention;
mod statistics;
mod templates;
mod throttle;
