//! Tenant events: the one envelope every service publishes
//! (`wework.common.v1.Event`) and the two ways it travels.
//!
//! - [`EventEnvelope`] builds events: a UUIDv7 id (receivers de-duplicate on
//!   it), the producing service as `source`, and `occurred_at` from the
//!   service's clock at millisecond precision — the precision of the JSON
//!   form, so an event and its webhook body always agree.
//! - [`publisher::EventPublisher`] hands events to the task center, which
//!   delivers them durably (signed, retried) to every enabled endpoint of the
//!   tenant and announces them live.
//! - [`live::LiveEvents`] fans events out, best effort, to live subscribers
//!   (the gateway's SSE stream).
//!
//! The JSON form, [`to_json`], is the webhook payload: the task service sends
//! exactly this as the HTTP body, and the live stream carries it too.
//!
//! ```json
//! { "id": "0193…", "type": "account.status_changed", "tenant_id": "0192…",
//!   "source": "account-service", "subject": "acc_1",
//!   "occurred_at": "2026-11-23T09:00:00.123Z", "data": { "status": "online" } }
//! ```
//!
//! `occurred_at` is RFC 3339 in UTC with milliseconds (`null` if the event has
//! none); `data` is always an object (`{}` when empty). Numbers in `data` are
//! doubles on the wire (`google.protobuf.Struct`): integers up to 2^53 come
//! back as integers, larger ones lose precision — send those as strings.

pub mod live;
pub mod publisher;

use chrono::{DateTime, SecondsFormat, Utc};
use prost_types::value::Kind;
use serde_json::{Map, Number, Value};
use wework_proto::common::Event;

pub use self::live::{EventStream, LiveError, LiveEvents};
pub use self::publisher::EventPublisher;
use crate::clock::SharedClock;

/// Namespace of platform notices on [`LiveEvents::from_cache_in`]: apart
/// from tenant events, so no tenant's stream can carry them.
pub const NOTICES_PREFIX: &str = "wework:notices:";
/// Notice topic: an API key was revoked. `subject` is the key's sha256 in hex
/// (never the key), so gateways drop what they remember of it at once.
pub const API_KEY_REVOKED: &str = "api-key-revoked";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// `data` must be a JSON object (or null for none): receivers index into it.
    #[error("event data must be a JSON object, not {0}")]
    DataNotObject(&'static str),
    #[error("malformed event JSON: {0}")]
    Malformed(&'static str),
}

/// Builds events of one producing service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventEnvelope {
    source: String,
    clock: SharedClock,
}

impl EventEnvelope {
    /// `source` is the producing service, e.g. `account-service`.
    pub fn new(source: impl Into<String>, clock: SharedClock) -> Self {
        Self { source: source.into(), clock }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// An event that occurred now (by this envelope's clock).
    pub fn build(&self, tenant_id: &str, event_type: &str, subject: &str, data: Value) -> Result<Event, EventError> {
        self.build_at(tenant_id, event_type, subject, data, self.clock.now())
    }

    /// An event that occurred at `occurred_at` (truncated to milliseconds).
    pub fn build_at(
        &self,
        tenant_id: &str,
        event_type: &str,
        subject: &str,
        data: Value,
        occurred_at: DateTime<Utc>,
    ) -> Result<Event, EventError> {
        let data = match &data {
            Value::Null => None,
            Value::Object(_) => json_to_struct(&data),
            other => return Err(EventError::DataNotObject(json_kind(other))),
        };
        Ok(Event {
            id: new_event_id(),
            tenant_id: tenant_id.to_owned(),
            r#type: event_type.to_owned(),
            source: self.source.clone(),
            subject: subject.to_owned(),
            occurred_at: Some(millis_timestamp(occurred_at)),
            data,
        })
    }

    /// `now` by this envelope's clock, at event precision.
    pub(crate) fn now(&self) -> prost_types::Timestamp {
        millis_timestamp(self.clock.now())
    }
}

/// A new event id: UUIDv7, so ids sort by creation time.
pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn millis_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    let millis = t.timestamp_subsec_millis();
    prost_types::Timestamp { seconds: t.timestamp(), nanos: i32::try_from(millis * 1_000_000).unwrap_or(0) }
}

/// The webhook payload of `event`; see the module docs for the shape.
pub fn to_json(event: &Event) -> Value {
    let occurred_at = event
        .occurred_at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true)));
    serde_json::json!({
        "id": event.id,
        "type": event.r#type,
        "tenant_id": event.tenant_id,
        "source": event.source,
        "subject": event.subject,
        "occurred_at": occurred_at,
        "data": event.data.as_ref().map_or_else(|| Value::Object(Map::new()), struct_to_json),
    })
}

/// The event of a payload made by [`to_json`]. Missing strings read as empty.
pub fn from_json(value: &Value) -> Result<Event, EventError> {
    let object = value.as_object().ok_or(EventError::Malformed("not an object"))?;
    let text = |field: &'static str| match object.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(EventError::Malformed(field)),
    };
    let occurred_at = match object.get("occurred_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| EventError::Malformed("occurred_at"))?;
            Some(millis_timestamp(t.with_timezone(&Utc)))
        }
        Some(_) => return Err(EventError::Malformed("occurred_at")),
    };
    let data = match object.get("data") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(o)) if !o.is_empty() => json_to_struct(v),
        Some(Value::Object(_)) => None,
        Some(_) => return Err(EventError::Malformed("data")),
    };
    Ok(Event {
        id: text("id")?,
        tenant_id: text("tenant_id")?,
        r#type: text("type")?,
        source: text("source")?,
        subject: text("subject")?,
        occurred_at,
        data,
    })
}

/// `value` as a `google.protobuf.Struct`; `None` unless it is an object.
pub fn json_to_struct(value: &Value) -> Option<prost_types::Struct> {
    match value {
        Value::Object(o) => {
            Some(prost_types::Struct { fields: o.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect() })
        }
        _ => None,
    }
}

/// A `google.protobuf.Struct` as a JSON object.
pub fn struct_to_json(s: &prost_types::Struct) -> Value {
    Value::Object(s.fields.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect())
}

fn json_to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue as i32),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(prost_types::ListValue { values: a.iter().map(json_to_value).collect() }),
        Value::Object(o) => Kind::StructValue(prost_types::Struct {
            fields: o.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

fn value_to_json(value: &prost_types::Value) -> Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => number_to_json(*n),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
    }
}

/// Integral doubles within the exactly representable range become JSON
/// integers, so `{"count": 3}` round-trips as `3`, not `3.0`. NaN and the
/// infinities have no JSON form and become `null`.
fn number_to_json(n: f64) -> Value {
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= MAX_EXACT {
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
