//! Small conversions between proto and domain/store types.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

use crate::error::{Error, Result};

pub fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

pub fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(ts)
}

/// A timestamp sent by a caller; out-of-range values are the caller's error.
pub fn from_ts(field: &'static str, t: &Timestamp) -> Result<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(Error::invalid(field, "nanos out of range"));
    }
    Utc.timestamp_opt(t.seconds, t.nanos as u32).single().ok_or_else(|| Error::invalid(field, "out of range"))
}

pub fn opt_from_ts(field: &'static str, t: Option<&Timestamp>) -> Result<Option<DateTime<Utc>>> {
    t.map(|t| from_ts(field, t)).transpose()
}

/// Empty strings in proto3 mean "not set".
pub fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// `google.protobuf.Struct` ⇄ JSON, for tenant config and audit values.
pub fn struct_to_json(s: &prost_types::Struct) -> serde_json::Value {
    serde_json::Value::Object(s.fields.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect())
}

pub fn json_to_struct(v: &serde_json::Value) -> Option<prost_types::Struct> {
    match json_to_value(v).kind {
        Some(prost_types::value::Kind::StructValue(s)) => Some(s),
        _ => None,
    }
}

fn value_to_json(v: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into),
        Some(Kind::StringValue(s)) => s.clone().into(),
        Some(Kind::BoolValue(b)) => (*b).into(),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(l)) => l.values.iter().map(value_to_json).collect(),
    }
}

fn json_to_value(v: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => {
            Kind::ListValue(prost_types::ListValue { values: a.iter().map(json_to_value).collect() })
        }
        serde_json::Value::Object(o) => Kind::StructValue(prost_types::Struct {
            fields: o.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_struct_round_trip() {
        let v = serde_json::json!({"a": 1.0, "b": [true, null, "x"], "c": {"d": "e"}});
        let s = json_to_struct(&v).expect("object");
        assert_eq!(struct_to_json(&s), v);
    }

    #[test]
    fn bad_timestamps_name_the_field() {
        let err = from_ts("expires_at", &Timestamp { seconds: 0, nanos: -1 }).expect_err("invalid");
        assert!(err.to_string().contains("expires_at"));
    }
}
