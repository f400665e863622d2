//! Unit tests of receipt parsing.

use prost_types::Timestamp;

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

fn req(id: &str, wework: &str, status: pb::MessageStatus) -> pb::UpdateDeliveryStatusRequest {
    pb::UpdateDeliveryStatusRequest {
        message_id: id.into(),
        wework_msg_id: wework.into(),
        status: status as i32,
        ..Default::default()
    }
}

fn fields(r: &pb::UpdateDeliveryStatusRequest) -> Vec<String> {
    match parse_receipt(r, now()) {
        Err(Error::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn exactly_one_id_names_the_message() {
    let p = parse_receipt(&req("m-1", "", pb::MessageStatus::Sent), now()).unwrap();
    assert!(p.by_id);
    assert_eq!(p.key, "m-1");
    assert_eq!(p.receipt.at, now());
    let p = parse_receipt(&req("", " w-1 ", pb::MessageStatus::Delivered), now()).unwrap();
    assert!(!p.by_id);
    assert_eq!(p.receipt.wework_msg_id.as_deref(), Some("w-1"));
    assert_eq!(fields(&req("", "", pb::MessageStatus::Sent)), ["message_id"]);
    assert_eq!(fields(&req("m", "w", pb::MessageStatus::Sent)), ["message_id"]);
}

#[test]
fn only_receipt_statuses_are_accepted() {
    for bad in [pb::MessageStatus::Unspecified, pb::MessageStatus::Pending, pb::MessageStatus::Cancelled] {
        assert_eq!(fields(&req("m", "", bad)), ["status"]);
    }
    let p = parse_receipt(&req("m", "", pb::MessageStatus::Failed), now()).unwrap();
    assert_eq!(p.receipt.status, MessageStatus::Failed);
}

#[test]
fn errors_and_times_are_checked() {
    let mut r = req("m", "", pb::MessageStatus::Failed);
    r.error_code = "x".repeat(51);
    r.error_message = "y".repeat(2_001);
    r.at = Some(Timestamp { seconds: 0, nanos: -1 });
    assert_eq!(fields(&r), ["error_code", "error_message", "at"]);
    r.error_code = " restricted ".into();
    r.error_message = String::new();
    r.at = Some(Timestamp { seconds: 1_700_000_000, nanos: 0 });
    let p = parse_receipt(&r, now()).unwrap();
    assert_eq!(p.receipt.error_code.as_deref(), Some("restricted"));
    assert_eq!(p.receipt.error_message, None);
    assert_eq!(p.receipt.at.timestamp(), 1_700_000_000);
}
