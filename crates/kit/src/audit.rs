//! The audit trail of every service but the user service: each mutation is
//! recorded through the user service's `AuditService/RecordAudit`, called
//! with a service token, by an [`AuditRecorder`].
//!
//! Contract:
//! - [`AuditRecorder::record`] never blocks and never fails the caller. The
//!   row waits in a bounded in-process queue and a background task sends it;
//!   a row that cannot be queued or sent is dropped, logged as a warning that
//!   names no value, and counted in `audit_records_dropped_total`. A mutation
//!   is never refused because the user service is down.
//! - Values leave the process as given: the caller redacts old/new values
//!   before `record` ([`redact`] helps). The user service redacts again by key
//!   name, but it cannot know another service's secrets.
//! - An entry with an empty `tenant_id` is platform-wide (e.g. a business
//!   system of the task center). RecordAudit requires a tenant, so such rows
//!   go to the platform tenant's trail — the one platform super-admins read
//!   by default — whose id the recorder looks up once by its code.

mod recorder;
#[cfg(test)]
mod tests;

use serde_json::Value;
use tonic::Request;
use wework_proto::common::OperationResult;
use wework_proto::user::AuditLog;

pub use self::recorder::{ATTEMPTS, AuditRecorder, QUEUE_CAPACITY};
use crate::events::json_to_struct;

/// What [`redact`] puts in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// How the audited call ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditResult {
    #[default]
    Success,
    Failure,
}

/// One audit row, before it is sent. Build it with [`AuditEntry::new`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntry {
    /// The tenant whose trail holds the row; empty = platform-wide.
    pub tenant_id: String,
    /// The acting user (a user, or the owner of an API key).
    pub user_id: Option<String>,
    /// `user`, `api_key`, `service` or `business`.
    pub principal_kind: String,
    /// Who acted, e.g. `api key <id>` or `business system billing`; no secret.
    pub actor: String,
    /// `<resource>.<verb>`, e.g. `endpoint.create`.
    pub operation: String,
    pub resource_type: String,
    pub resource_id: String,
    /// Must already be redacted. A non-object is recorded as `{"value": …}`.
    pub old_value: Option<Value>,
    /// Must already be redacted. A non-object is recorded as `{"value": …}`.
    pub new_value: Option<Value>,
    pub result: AuditResult,
    pub error_message: Option<String>,
    pub meta: RequestMeta,
}

impl AuditEntry {
    /// A successful `operation` on a resource of `tenant_id` (empty: platform-wide).
    pub fn new(tenant_id: &str, operation: &str, resource_type: &str, resource_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            operation: operation.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.to_owned(),
            ..Self::default()
        }
    }

    /// Who acted, from the caller's principal: user id, principal kind and a
    /// readable actor (`user <id>`, `api key <id>`, `service <name>`); never
    /// a credential. One spelling for every service's audit rows.
    #[must_use]
    pub fn by(mut self, principal: &crate::auth::Principal) -> Self {
        use crate::auth::PrincipalKind;
        self.user_id = principal.user_id.clone().filter(|u| !u.is_empty());
        self.principal_kind = match principal.kind {
            PrincipalKind::User => "user",
            PrincipalKind::ApiKey => "api_key",
            PrincipalKind::Service => "service",
        }
        .to_owned();
        self.actor = describe(principal);
        self
    }

    /// Old and new state; both must already be redacted.
    #[must_use]
    pub fn values(mut self, old: Option<Value>, new: Option<Value>) -> Self {
        self.old_value = old;
        self.new_value = new;
        self
    }

    /// Marks the attempt as failed, with a reason that names no secret.
    #[must_use]
    pub fn failed(mut self, message: &str) -> Self {
        self.result = AuditResult::Failure;
        self.error_message = Some(message.to_owned());
        self
    }

    /// The row as RecordAudit takes it; `service` is the recording service.
    pub fn to_proto(&self, service: &str) -> AuditLog {
        let result = match self.result {
            AuditResult::Success => OperationResult::Success,
            AuditResult::Failure => OperationResult::Failure,
        };
        AuditLog {
            id: String::new(),
            tenant_id: self.tenant_id.clone(),
            user_id: self.user_id.clone().unwrap_or_default(),
            operation: self.operation.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            old_value: self.old_value.as_ref().and_then(as_struct),
            new_value: self.new_value.as_ref().and_then(as_struct),
            result: result as i32,
            error_message: self.error_message.clone().unwrap_or_default(),
            ip: self.meta.ip.clone().unwrap_or_default(),
            user_agent: self.meta.user_agent.clone().unwrap_or_default(),
            request_id: self.meta.request_id.clone().unwrap_or_default(),
            service: service.to_owned(),
            // The user service stamps rows with its own clock.
            created_at: None,
            principal_kind: self.principal_kind.clone(),
            actor: self.actor.clone(),
        }
    }
}

/// A value as a `Struct`: objects as they are, anything else wrapped.
fn as_struct(value: &Value) -> Option<prost_types::Struct> {
    match value {
        Value::Object(_) => json_to_struct(value),
        other => json_to_struct(&serde_json::json!({ "value": other })),
    }
}

/// Who called from where, as the audit trail records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// The gateway forwards the end user's address in `x-forwarded-for`;
    /// otherwise the peer address of the connection is used. Lengths are cut
    /// to what the audit table holds.
    pub fn from_request<T>(req: &Request<T>) -> Self {
        let header = |name: &str| {
            req.metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let ip = header("x-forwarded-for")
            .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .or_else(|| req.remote_addr().map(|a| a.ip().to_string()));
        Self {
            ip: ip.map(|s| truncate(s, 64)),
            user_agent: header("user-agent").map(|s| truncate(s, 512)),
            request_id: crate::telemetry::request_id(req).map(|s| truncate(s, 64)),
        }
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Returns `value` with the value of every member named in `keys` (ASCII
/// case-insensitive, at any depth, whatever its type) replaced by
/// [`REDACTED`].
pub fn redact(value: Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if keys.iter().any(|s| s.eq_ignore_ascii_case(&k)) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v, keys)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact(v, keys)).collect()),
        other => other,
    }
}

/// The caller in words, e.g. `user <id>`, `api key <id>`, `service gateway`.
pub fn describe(p: &crate::auth::Principal) -> String {
    match (&p.user_id, &p.api_key_id, &p.service) {
        (Some(user), _, _) => format!("user {user}"),
        (None, Some(key), _) => format!("api key {key}"),
        (None, None, Some(service)) => format!("service {service}"),
        (None, None, None) => "the platform".to_owned(),
    }
}
