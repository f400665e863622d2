//! What the integration suites of the services that call other services
//! share (dev-dependency only): a real user service that issues tokens and
//! answers quotas ([`users`]), a real task center with a tenant webhook
//! receiver that checks Standard Webhooks signatures ([`tasks`]), and a TCP
//! switch that takes a dependency away and brings it back without
//! rebinding its port ([`Switch`]).
//!
//! Everything runs in the test's own process on `127.0.0.1:0` with its own
//! throwaway database (SQLite, or MariaDB when `WEWORK_TEST_MYSQL_URL` is
//! set), on the system clock: these services check tokens minted by others.

pub mod switch;
pub mod tasks;
pub mod users;

pub use switch::Switch;
pub use tasks::{Delivery, Receiver, TaskCenter, TaskCenterData, signature_valid};
pub use users::{ADMIN_PASSWORD, PASSWORD, Tenant, TenantLimits, UserService};

use tonic::{Code, Request, Status};

/// A request carrying a bearer token.
pub fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
    req
}

/// Asserts the call failed with `code`; returns the status for more checks.
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "unexpected status: {s:?}");
            s
        }
    }
}
