//! Rules of the message service, free of I/O and unit-tested. Time is passed
//! in (`now`) and randomness comes from a caller-supplied generator, so every
//! rule is deterministic under test.
//!
//! - [`content`]: message content per type, parsed from the proto with limits
//!   and field names, and converted to the instance protocol's content.
//! - [`template`]: `{{name}}` placeholders, typed variables, rendering.
//! - [`import`]: CSV receiver lists with per-row errors.
//! - [`throttle`]: the per-account anti-ban rule (interval + jitter, caps,
//!   sending window in a time zone).
//! - [`status`]: message statuses only move forward; what each change counts.
//! - [`batch`]: the batch status machine, send strategy, content and targets;
//!   [`batch_progress`]: receivers' statuses, derived counters, ETA.

pub mod batch;
pub mod batch_progress;
pub mod content;
pub mod import;
pub mod status;
pub mod template;
pub mod throttle;

/// A request field that failed validation; the gRPC layer turns it into
/// `InvalidArgument` with a field violation named as the proto names it,
/// with the path from the request root (`content.link.url`,
/// `messages[3].content.text.text`).
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

    /// The same error under a parent path: `at("messages[3]")`.
    #[must_use]
    pub fn at(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = format!("{prefix}.{}", self.field);
        }
        self
    }
}
