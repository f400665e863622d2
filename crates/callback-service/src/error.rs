//! The callback service's one error type and its one mapping to `tonic::Status`.
//! Handlers return `Result<T>`; everything a caller may see is decided here,
//! and internal failures are logged (with the request id of the current span)
//! and hidden behind a generic message.

use sea_orm::DbErr;
use tonic::Status;
use wework_kit::errors as kit;

use crate::domain::FieldError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {}", .0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>().join(", "))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Bad credentials of any kind; the message never says which part was wrong.
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    #[error("{0}")]
    ResourceExhausted(String),
    /// Overloaded for a moment; the caller should retry with backoff.
    #[error("{0}")]
    Unavailable(String),
    /// A database failure; duplicates and lock timeouts are classified by kit.
    #[error("database: {source}")]
    Db {
        #[from]
        source: DbErr,
    },
    #[error("internal: {0}")]
    Internal(#[from] anyhow::Error),
    /// Already a caller-facing status, built by a kit helper.
    #[error("{0}")]
    Status(Status),
}

impl Error {
    /// A unique-key violation becomes AlreadyExists naming `resource`; any
    /// other database error stays one.
    pub fn duplicate_as(e: DbErr, resource: &'static str) -> Self {
        match kit::classify_db_err(&e) {
            kit::DbErrorKind::Duplicate => Self::AlreadyExists(resource),
            _ => Self::from(e),
        }
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { reason, message: message.into() }
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Self::Invalid(vec![e])
    }
}

impl From<Status> for Error {
    /// Kit helpers that already produce a caller-facing status (page tokens,
    /// permission checks) pass through unchanged.
    fn from(status: Status) -> Self {
        Self::Status(status)
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(fields) => {
                let mut v = kit::FieldViolations::new();
                for f in fields {
                    v.add(f.field, f.message);
                }
                match v.into_result() {
                    Err(status) => status,
                    Ok(()) => Status::invalid_argument("invalid request"),
                }
            }
            Error::NotFound(what) => kit::not_found(what),
            Error::AlreadyExists(what) => kit::already_exists(what),
            Error::PermissionDenied(msg) => kit::permission_denied(&msg),
            Error::Unauthenticated => kit::unauthenticated(),
            Error::FailedPrecondition { reason, message } => kit::failed_precondition(reason, &message),
            Error::ResourceExhausted(msg) => kit::resource_exhausted(&msg),
            Error::Unavailable(msg) => kit::unavailable(&msg),
            Error::Db { source } => kit::from_db_err(&source, "resource"),
            Error::Internal(err) => kit::internal(err.as_ref()),
            Error::Status(status) => status,
        }
    }
}
