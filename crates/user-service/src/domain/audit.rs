//! Redaction of secrets before values are written to the audit trail.
//!
//! Contract: audit rows keep old/new values of changed resources, and those
//! rows are read by many people for years, so any member whose key looks
//! like it holds a secret is replaced with `"[redacted]"` at every depth,
//! whatever its type. Matching is by key name and deliberately broad: a
//! false positive costs a little detail, a false negative leaks a credential.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Substrings of key names (lowercase) whose values are never recorded.
const SENSITIVE: &[&str] = &["password", "secret", "token", "key_hash", "private", "totp"];

fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| key.contains(s))
}

/// Returns `value` with every sensitive member replaced, recursing into
/// objects and arrays.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_sensitive(&k) { Value::String(REDACTED.to_owned()) } else { redact(v) };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_sensitive_keys_at_any_depth() {
        let input = json!({
            "username": "alice",
            "Password": "hunter2hunter2",
            "profile": {"totp_secret": "JBSWY3DP", "display_name": "Alice"},
            "sessions": [{"refresh_token_hash": "abc", "ip": "127.0.0.1"}],
            "api_key": {"prefix": "abcdefghijkl", "key_hash": "deadbeef"},
            "signing": {"private_key": [1, 2, 3]},
            "webhook_secret": null,
            "AccessToken": {"nested": "x"}
        });
        let expected = json!({
            "username": "alice",
            "Password": REDACTED,
            "profile": {"totp_secret": REDACTED, "display_name": "Alice"},
            "sessions": [{"refresh_token_hash": REDACTED, "ip": "127.0.0.1"}],
            "api_key": {"prefix": "abcdefghijkl", "key_hash": REDACTED},
            "signing": {"private_key": REDACTED},
            "webhook_secret": REDACTED,
            "AccessToken": REDACTED
        });
        assert_eq!(redact(input), expected);
    }

    #[test]
    fn leaves_other_values_alone() {
        for v in [json!(null), json!(1), json!("password"), json!(["token", {"name": "x"}])] {
            assert_eq!(redact(v.clone()), v);
        }
    }
}
