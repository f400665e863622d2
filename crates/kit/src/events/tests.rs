//! The envelope builder, the JSON payload shape and the Struct converters.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::clock::ManualClock;

fn at(ms: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time") + chrono::Duration::milliseconds(ms.into())
}

fn envelope() -> (EventEnvelope, ManualClock) {
    let clock = ManualClock::new(at(123) + chrono::Duration::nanoseconds(456_789));
    (EventEnvelope::new("account-service", clock.shared()), clock)
}

#[test]
fn json_struct_round_trip_keeps_nesting_nulls_and_numbers() {
    let value = json!({
        "name": "acme",
        "active": true,
        "none": null,
        "count": 3,
        "negative": -42,
        "ratio": 2.5,
        "huge": 1e300,
        "max_exact": 9_007_199_254_740_992_i64,
        "nested": { "list": [1, "two", null, { "deep": [[], {}] }], "empty": {} },
    });
    let s = json_to_struct(&value).expect("an object");
    assert_eq!(s.fields.len(), 9);
    assert!(matches!(s.fields["none"].kind, Some(Kind::NullValue(_))));
    assert!(matches!(s.fields["count"].kind, Some(Kind::NumberValue(n)) if n == 3.0));
    assert_eq!(struct_to_json(&s), value, "integers stay integers, floats stay floats");
    assert_eq!(struct_to_json(&s)["count"].to_string(), "3");
}

#[test]
fn numbers_beyond_doubles_degrade_predictably() {
    let s = json_to_struct(&json!({ "big": u64::MAX, "past_exact": 9_007_199_254_740_993_i64 })).expect("object");
    let back = struct_to_json(&s);
    assert_eq!(back["big"], json!(1.8446744073709552e19), "beyond i64: a double");
    assert_eq!(back["past_exact"], json!(9_007_199_254_740_992_i64), "beyond 2^53: rounded");
    let nan = prost_types::Struct {
        fields: [("x".to_owned(), prost_types::Value { kind: Some(Kind::NumberValue(f64::NAN)) })].into(),
    };
    assert_eq!(struct_to_json(&nan), json!({ "x": null }), "NaN has no JSON form");
    let unset = prost_types::Struct { fields: [("y".to_owned(), prost_types::Value { kind: None })].into() };
    assert_eq!(struct_to_json(&unset), json!({ "y": null }));
}

#[test]
fn only_objects_become_structs() {
    for not_object in [json!(null), json!(1), json!("x"), json!([1]), json!(true)] {
        assert_eq!(json_to_struct(&not_object), None, "{not_object}");
    }
    assert_eq!(json_to_struct(&json!({})), Some(prost_types::Struct::default()));
}

#[test]
fn build_fills_the_envelope_from_the_clock_at_millisecond_precision() {
    let (envelope, _) = envelope();
    let event = envelope.build("t1", "account.status_changed", "acc_1", json!({ "status": "online" })).expect("ok");
    let id = uuid::Uuid::parse_str(&event.id).expect("uuid");
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(
        (event.tenant_id.as_str(), event.r#type.as_str(), event.source.as_str(), event.subject.as_str()),
        ("t1", "account.status_changed", "account-service", "acc_1")
    );
    let ts = event.occurred_at.expect("occurred_at");
    assert_eq!((ts.seconds, ts.nanos), (at(0).timestamp(), 123_000_000), "sub-millisecond part dropped");
    assert_eq!(event.data.map(|d| struct_to_json(&d)), Some(json!({ "status": "online" })));
}

#[test]
fn build_at_uses_the_given_time_and_null_data_is_none() {
    let (envelope, _) = envelope();
    let event = envelope.build_at("t1", "x.y", "", Value::Null, at(7)).expect("ok");
    assert_eq!(event.occurred_at.map(|t| t.nanos), Some(7_000_000));
    assert_eq!(event.data, None);
}

#[test]
fn data_must_be_an_object() {
    let (envelope, _) = envelope();
    assert_eq!(envelope.build("t1", "x.y", "s", json!([1, 2])), Err(EventError::DataNotObject("an array")));
    assert_eq!(envelope.build("t1", "x.y", "s", json!("text")), Err(EventError::DataNotObject("a string")));
}

#[test]
fn ids_are_unique_and_sort_by_creation() {
    let (envelope, _) = envelope();
    let ids: Vec<String> = (0..50).map(|_| envelope.build("t1", "x.y", "s", Value::Null).expect("ok").id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids);
}

#[test]
fn webhook_payload_shape() {
    let (envelope, _) = envelope();
    let event = envelope.build("t1", "message.delivered", "msg_9", json!({ "n": 1, "tags": ["a"] })).expect("ok");
    assert_eq!(
        to_json(&event),
        json!({
            "id": event.id,
            "type": "message.delivered",
            "tenant_id": "t1",
            "source": "account-service",
            "subject": "msg_9",
            "occurred_at": "2026-11-23T09:00:00.123Z",
            "data": { "n": 1, "tags": ["a"] },
        })
    );
    let bare = Event { id: "e1".into(), ..Event::default() };
    let json = to_json(&bare);
    assert_eq!((&json["occurred_at"], &json["data"]), (&Value::Null, &json!({})), "data is always an object");
    let whole_second = envelope.build_at("t1", "x.y", "s", Value::Null, at(0)).expect("ok");
    assert_eq!(to_json(&whole_second)["occurred_at"], "2026-11-23T09:00:00.000Z");
}

#[test]
fn from_json_reads_back_what_to_json_wrote() {
    let (envelope, _) = envelope();
    let event = envelope.build("t1", "x.y", "s", json!({ "a": { "b": [null, 1.5] } })).expect("ok");
    assert_eq!(from_json(&to_json(&event)), Ok(event));
    let empty = envelope.build("t1", "x.y", "s", Value::Null).expect("ok");
    assert_eq!(from_json(&to_json(&empty)), Ok(empty), "`{{}}` reads back as no data");
}

#[test]
fn from_json_rejects_wrong_types() {
    assert_eq!(from_json(&json!([])), Err(EventError::Malformed("not an object")));
    assert_eq!(from_json(&json!({ "id": 1 })), Err(EventError::Malformed("id")));
    assert_eq!(from_json(&json!({ "occurred_at": "yesterday" })), Err(EventError::Malformed("occurred_at")));
    assert_eq!(from_json(&json!({ "data": [1] })), Err(EventError::Malformed("data")));
    assert_eq!(from_json(&json!({})), Ok(Event::default()), "missing fields read as empty");
}
