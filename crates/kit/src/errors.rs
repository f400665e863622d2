//! Error plumbing shared by every service: one classification of database
//! errors, and the helpers that build `tonic::Status` values with rich details
//! (`google.rpc.BadRequest`, `google.rpc.ErrorInfo`).
//!
//! Rule: a caller sees what it can act on (which field, which precondition);
//! internal failures are logged in full with the request's span and reach the
//! caller only as a generic `INTERNAL`.

use std::collections::HashMap;
use std::ops::Deref;

use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `ErrorInfo.domain` of every error the platform returns.
pub const ERROR_DOMAIN: &str = "wework";

/// What a database error means to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A unique key already holds the value.
    Duplicate,
    NotFound,
    /// Transient: lock wait timeout, deadlock, busy database, pool exhausted,
    /// lost connection. Retrying may succeed.
    Unavailable,
    Other,
}

/// Classifies a `DbErr` across MySQL/MariaDB and SQLite.
pub fn classify_db_err(e: &DbErr) -> DbErrorKind {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return DbErrorKind::Duplicate;
    }
    match e {
        DbErr::RecordNotFound(_) => DbErrorKind::NotFound,
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            DbErrorKind::Unavailable
        }
        DbErr::Conn(_) => DbErrorKind::Unavailable,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            classify_sqlx(sqlx.deref())
        }
        _ => DbErrorKind::Other,
    }
}

fn classify_sqlx(e: &sea_orm::sqlx::Error) -> DbErrorKind {
    use sea_orm::sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => {
            DbErrorKind::Unavailable
        }
        E::RowNotFound => DbErrorKind::NotFound,
        E::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
                return match my.number() {
                    1062 | 1022 | 1169 | 1586 => DbErrorKind::Duplicate,
                    // lock wait timeout, deadlock, query interrupted/too many connections
                    1205 | 1213 | 1040 | 1317 => DbErrorKind::Unavailable,
                    _ => DbErrorKind::Other,
                };
            }
            let code = db.code().unwrap_or_default();
            // SQLite extended codes keep the primary code in the low byte:
            // 5 SQLITE_BUSY (and 261, 517, …), 6 SQLITE_LOCKED.
            let primary = code.parse::<i64>().ok().map(|c| c & 0xff);
            match primary {
                _ if code == "2067" || code == "1555" => DbErrorKind::Duplicate,
                Some(5 | 6) => DbErrorKind::Unavailable,
                _ if db.message().contains("UNIQUE constraint failed") => DbErrorKind::Duplicate,
                _ => DbErrorKind::Other,
            }
        }
        _ => DbErrorKind::Other,
    }
}

/// Maps a database error to the status a handler returns. `resource` names
/// the thing (e.g. `"user"`), for the NotFound/AlreadyExists messages.
pub fn from_db_err(err: &DbErr, resource: &str) -> Status {
    match classify_db_err(err) {
        DbErrorKind::Duplicate => already_exists(resource),
        DbErrorKind::NotFound => not_found(resource),
        DbErrorKind::Unavailable => {
            tracing::warn!(error = %err, "database temporarily unavailable");
            unavailable("temporarily unavailable, retry")
        }
        DbErrorKind::Other => internal(err),
    }
}

/// One invalid field: `INVALID_ARGUMENT "<field>: <description>"` with a BadRequest violation.
pub fn invalid_argument(field: &str, description: &str) -> Status {
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {description}"),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// Collects every invalid field of a request, so a client fixes all of them at once.
#[derive(Debug, Default)]
pub struct FieldViolations {
    violations: Vec<(String, String)>,
}

impl FieldViolations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) -> &mut Self {
        self.violations.push((field.into(), description.into()));
        self
    }

    /// Adds the violation when `ok` is false; keeps validation code linear.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) -> &mut Self {
        if !ok {
            self.add(field, description);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok` when nothing was added; otherwise one INVALID_ARGUMENT carrying all violations.
    pub fn into_result(self) -> Result<(), Status> {
        if self.violations.is_empty() {
            return Ok(());
        }
        let message = self.violations.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; ");
        let mut details = ErrorDetails::new();
        for (field, description) in self.violations {
            details.add_bad_request_violation(field, description);
        }
        Err(Status::with_error_details(Code::InvalidArgument, message, details))
    }
}

pub fn not_found(resource: &str) -> Status {
    Status::not_found(format!("{resource} not found"))
}

pub fn already_exists(resource: &str) -> Status {
    Status::already_exists(format!("{resource} already exists"))
}

/// A rule forbids the call in the current state. `reason` is a stable
/// UPPER_SNAKE code clients switch on (e.g. `ACCOUNT_OFFLINE`, `QUOTA_EXCEEDED`).
pub fn failed_precondition(reason: &str, message: &str) -> Status {
    Status::with_error_details(
        Code::FailedPrecondition,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
    )
}

pub fn permission_denied(message: &str) -> Status {
    Status::permission_denied(message)
}

/// Deliberately vague: says nothing about why a credential was refused.
pub fn unauthenticated() -> Status {
    Status::unauthenticated("missing or invalid credentials")
}

pub fn resource_exhausted(message: &str) -> Status {
    Status::resource_exhausted(message)
}

pub fn unavailable(message: &str) -> Status {
    Status::unavailable(message)
}

/// Logs the error with its whole source chain (the current span carries the
/// request id) and returns a generic `INTERNAL` that leaks nothing.
pub fn internal(err: &dyn std::error::Error) -> Status {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "internal error");
    Status::internal("internal error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_violations_carry_every_field() {
        let mut v = FieldViolations::new();
        assert!(v.is_empty());
        v.add("name", "must not be empty").check(false, "email", "invalid");
        let status = v.into_result().expect_err("violations");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "name: must not be empty; email: invalid");
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request detail");
        let fields: Vec<_> = bad.field_violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "email"]);
        assert!(FieldViolations::new().into_result().is_ok());
    }

    #[test]
    fn single_violation_and_precondition_have_details() {
        let s = invalid_argument("page_size", "must be <= 100");
        assert_eq!(s.message(), "page_size: must be <= 100");
        assert!(s.get_error_details().bad_request().is_some());
        let s = failed_precondition("ACCOUNT_OFFLINE", "account is offline");
        let info = s.get_error_details().error_info().cloned().expect("error info");
        assert_eq!((info.reason.as_str(), info.domain.as_str()), ("ACCOUNT_OFFLINE", ERROR_DOMAIN));
    }

    #[test]
    fn internal_leaks_nothing() {
        let err = std::io::Error::other("db password is hunter2");
        let s = internal(&err);
        assert_eq!((s.code(), s.message()), (Code::Internal, "internal error"));
    }

    #[test]
    fn db_errors_map_to_statuses() {
        let nf = DbErr::RecordNotFound("user".into());
        assert_eq!(classify_db_err(&nf), DbErrorKind::NotFound);
        assert_eq!(from_db_err(&nf, "user").code(), Code::NotFound);
        let pool = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        assert_eq!(from_db_err(&pool, "user").code(), Code::Unavailable);
        assert_eq!(from_db_err(&DbErr::Custom("x".into()), "user").code(), Code::Internal);
    }
}
