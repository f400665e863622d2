//! Rules of the task center, free of I/O and unit-tested.
//!
//! Contract: nothing in here touches the database, the network or the wall
//! clock implicitly — time is passed in (`now`) and randomness comes from a
//! caller-supplied generator, so every rule is deterministic under test.
//!
//! - [`validate`]: parsed newtypes for single request fields.
//! - [`model`]: whole requests parsed into domain types that are valid by
//!   construction (`NewTaskSpec`, `NewBusinessSystem`, `EndpointUpsert`, …).
//! - [`retry`]: how an attempt is judged and when the next one is due.
//! - [`cron`]: cron schedules in IANA time zones and the missed-slot rule.

pub mod cron;
pub mod model;
pub mod retry;
pub mod validate;

/// A request field that failed validation. The gRPC layer turns it into
/// `InvalidArgument` with a field violation, so `field` is spelled the way the
/// proto spells it, with the path from the request root (`task.priority`,
/// `tasks[3].http.url`), and a client can point at the offending input. It is
/// a `String` because batch items carry their index in the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// Builds the error; `message` is shown to the caller, so it must never
    /// echo a secret.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// Renames the field, for a rule reused under another proto name.
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// Joins a message path and a field name the way error paths are spelled:
/// `path("task", "priority")` is `task.priority`; an empty prefix leaves the
/// name alone (top-level request fields).
pub fn path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

#[cfg(test)]
mod tests {
    use super::{FieldError, path};

    #[test]
    fn field_error_names_its_field() {
        let err = FieldError::new("cron", "bad").in_field("schedule.cron");
        assert_eq!(err.field, "schedule.cron");
        assert_eq!(err.to_string(), "schedule.cron: bad");
    }

    #[test]
    fn paths_join_with_dots() {
        assert_eq!(path("tasks[3]", "priority"), "tasks[3].priority");
        assert_eq!(path("", "business_code"), "business_code");
    }
}
