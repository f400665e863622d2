//! Conversions between stored rows and proto messages, and request timestamps.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wework_proto::callback as pb;

use crate::domain::FieldError;
use crate::domain::status::EventStatus;
use crate::ingest;
use crate::store::entity::{app, event};

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) })
}

/// A request timestamp (field `field`); out-of-range values are refused.
pub fn from_ts_opt(t: Option<&Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    t.map(|t| {
        u32::try_from(t.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
            .ok_or_else(|| FieldError::new(field, "not a valid timestamp"))
    })
    .transpose()
}

/// An event as the API shows it; `full` adds the raw body and parsed data.
pub fn event_to_proto(row: &event::Model, full: bool) -> pb::CallbackEvent {
    let status = EventStatus::parse(&row.status).map_or(pb::EventStatus::Unspecified, EventStatus::to_proto);
    let waiting = status == pb::EventStatus::Received;
    pb::CallbackEvent {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone().unwrap_or_default(),
        account_id: row.account_id.clone().unwrap_or_default(),
        guid: row.guid.clone(),
        notify_type: row.notify_type,
        event_type: row.event_type.clone(),
        source: row.source.clone(),
        app_id: row.app_id.clone().unwrap_or_default(),
        status: status as i32,
        error: row.error.clone().unwrap_or_default(),
        retry_count: u32::try_from(row.retry_count).unwrap_or(0),
        received_time: ts(row.received_time),
        process_time: row.process_time.and_then(ts),
        next_attempt_at: if waiting { ts(row.next_attempt_at) } else { None },
        source_ip: row.source_ip.clone().unwrap_or_default(),
        user_agent: row.user_agent.clone().unwrap_or_default(),
        raw_data: if full { row.raw_data.clone() } else { String::new() },
        parsed_data: if full { row.parsed_data.clone().unwrap_or_default() } else { String::new() },
    }
}

pub fn app_to_proto(row: &app::Model) -> pb::WecomApp {
    pb::WecomApp {
        id: row.id.clone(),
        tenant_id: row.tenant_id.clone(),
        name: row.name.clone(),
        corp_id: row.corp_id.clone(),
        agent_id: row.agent_id.unwrap_or(0),
        status: row.status.clone(),
        callback_path: ingest::WECOM_PATH.replace("{app_id}", &row.id),
        created_at: ts(row.created_at),
        updated_at: ts(row.updated_at),
    }
}
