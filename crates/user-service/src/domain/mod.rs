//! Rules of the user service, pure and unit-tested without IO.
//!
//! Contract: nothing in here touches the database, the network or the wall
//! clock implicitly — time is always passed in (`now`), so every rule is
//! deterministic under test. Randomness (salts, secrets, keys) comes from the
//! OS generator and is confined to the functions that mint credentials.
//!
//! - [`validate`]: parsed newtypes for request fields ("parse, don't validate").
//! - [`password`]: password policy and argon2id hashing.
//! - [`lockout`]: exponential lockout after repeated login failures.
//! - [`totp`]: RFC 6238 one-time codes for two-factor login.
//! - [`tokens`]: opaque refresh tokens and API keys, stored only as hashes.
//! - [`signing`]: Ed25519 keys that sign access JWTs.
//! - [`rbac`]: the permission catalogue, system roles and wildcard matching.
//! - [`quota`]: daily quota windows.
//! - [`audit`]: redaction of secrets before values reach the audit trail.

pub mod audit;
pub mod lockout;
pub mod password;
pub mod quota;
pub mod rbac;
pub mod signing;
pub mod tokens;
pub mod totp;
pub mod validate;

/// A request field that failed validation. The gRPC layer turns it into
/// `InvalidArgument` with a field violation, so `field` is spelled the way the
/// proto spells it (`username`, `page.page_size`) and a client can point at the
/// offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    /// Builds the error; `message` is shown to the caller, so it must never
    /// echo a secret.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }

    /// Renames the field, for a rule reused under another proto name
    /// (the password policy checks both `password` and `new_password`).
    #[must_use]
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::FieldError;

    #[test]
    fn field_error_names_its_field() {
        let err = FieldError::new("password", "too short").in_field("new_password");
        assert_eq!(err.field, "new_password");
        assert_eq!(err.to_string(), "new_password: too short");
    }
}
