//! Conversions between stored rows and proto messages, shared by handlers.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) })
}

pub fn ts_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.and_then(ts)
}

/// A proto timestamp as UTC; `None` when unset or out of range.
pub fn from_ts(t: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}
