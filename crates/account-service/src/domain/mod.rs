//! Rules of the account service, free of I/O and unit-tested.
//!
//! - [`status`]: the account state machine (transition table).
//! - [`events`]: what each instance callback means for an account.
//! - [`recovery`]: when the watchdog gives up on a heartbeat and how it backs
//!   off restore attempts.
//! - [`validate`]: request fields parsed into valid values.
//! - [`directory`]: conversations, contacts and groups.

pub mod directory;
pub mod events;
pub mod recovery;
pub mod status;
pub mod validate;

pub use status::{AccountStatus, OperatorType};

/// A request field that failed validation; the gRPC layer turns it into
/// `InvalidArgument` with a field violation named as the proto names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// `message` is shown to the caller, so it must never echo a secret.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}
