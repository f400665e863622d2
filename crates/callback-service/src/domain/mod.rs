//! Rules of the callback service, free of I/O: WeCom's message crypto and
//! XML, the dedup key that makes a re-sent callback a no-op, what each
//! notify type means for routing and ordering, event statuses and the retry
//! schedule.

pub mod dedup;
pub mod routing;
pub mod status;
pub mod wecom_crypto;
pub mod wecom_xml;

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
