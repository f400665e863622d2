//! What a callback means for the rest of the platform: where the processor
//! routes it, whether its order matters, its stored name and the tenant
//! event it becomes.
//!
//! - Status events (ready, QR, scanned, login, verify, logout, heartbeat
//!   error, session timeout, logged in elsewhere) go to the account service
//!   (`ReportEvent`) and are *ordered*: a later one of the same guid waits
//!   until the earlier one is finished, so an account never ends in the
//!   state of an older event.
//! - Heartbeats and finished syncs go to the account service too, unordered
//!   (a heartbeat only touches a timestamp; a sync is idempotent).
//! - Send results go to the message service (`UpdateDeliveryStatus`, by our
//!   client message id; forward-only there, so order does not matter).
//! - New messages go to the message service (`RecordInbound`) and to the
//!   account service (the conversation), both idempotent on WeWork's id.
//! - Unknown notify types are stored and ignored, with the reason.

use wework_client::callback::{
    CallbackEnvelope, CallbackEvent, NewMessageData, NotifyType, ParseError, SendResultData,
};

/// Where one instance callback goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Account service `ReportEvent` (status, heartbeat, sync finished).
    Account,
    /// Message service `UpdateDeliveryStatus`.
    Delivery(SendResultData),
    /// Message service `RecordInbound`, then the account's conversation.
    Inbound(Box<NewMessageData>),
}

/// Why a callback is not routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unroutable {
    /// Stored and ignored: a type this platform does not know (yet).
    #[error("unknown notify_type {0}")]
    Unknown(i32),
    /// The data does not fit its type; processing it again cannot help.
    #[error("{0}")]
    Malformed(String),
}

pub fn route(env: &CallbackEnvelope) -> Result<Route, Unroutable> {
    match env.event() {
        Ok(CallbackEvent::SendResult(r)) => Ok(Route::Delivery(r)),
        Ok(CallbackEvent::NewMessage(m)) => Ok(Route::Inbound(m)),
        Ok(_) => Ok(Route::Account),
        Err(ParseError::UnknownType(t)) => Err(Unroutable::Unknown(t)),
        Err(e @ ParseError::Malformed { .. }) => Err(Unroutable::Malformed(e.to_string())),
    }
}

/// The stored `event_type` of an instance notify type.
pub fn event_type(notify_type: i32) -> String {
    NotifyType::from_code(notify_type).map_or_else(|| format!("unknown_{notify_type}"), |t| t.name().to_owned())
}

/// Whether events of this type must be applied in the order received per guid.
pub fn is_ordered(notify_type: i32) -> bool {
    matches!(
        NotifyType::from_code(notify_type),
        Some(
            NotifyType::Ready
                | NotifyType::QrCodeChanged
                | NotifyType::QrCodeScanned
                | NotifyType::LoginSuccess
                | NotifyType::Logout
                | NotifyType::HeartbeatError
                | NotifyType::SessionTimeout
                | NotifyType::LoggedInElsewhere
                | NotifyType::SafetyVerification
        )
    )
}

/// Whether the tenant hears of it as a `callback.*` event. Heartbeats arrive
/// every few seconds per account and tell a tenant nothing new; they are the
/// one type kept off tenant webhooks.
pub fn publishes(notify_type: i32) -> bool {
    notify_type != NotifyType::Heartbeat.code()
}

/// The tenant event type of a stored event type: `callback.<type>` for
/// instance callbacks, `wecom.<type>` for WeCom's, reduced to the task
/// center's alphabet (`[a-z0-9._]`, ≤ 64).
pub fn tenant_event_type(source: &str, event_type: &str) -> String {
    let prefix = if source == "wecom" { "wecom" } else { "callback" };
    let mut out = String::with_capacity(prefix.len() + 1 + event_type.len());
    out.push_str(prefix);
    out.push('.');
    for c in event_type.chars() {
        let c = c.to_ascii_lowercase();
        out.push(if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' { c } else { '.' });
    }
    out.truncate(64);
    out
}

/// The stored `event_type` of a WeCom callback: its `MsgType`, or
/// `event.<Event>` for events (e.g. `event.change_contact`).
pub fn wecom_event_type(msg_type: Option<&str>, event: Option<&str>) -> String {
    let clip = |s: &str| s.chars().take(40).collect::<String>();
    match (msg_type.map(str::trim), event.map(str::trim)) {
        (Some("event"), Some(e)) if !e.is_empty() => format!("event.{}", clip(e)),
        (Some(t), _) if !t.is_empty() => clip(t),
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn env(t: i32, data: serde_json::Value) -> CallbackEnvelope {
        CallbackEnvelope { guid: "g".into(), notify_type: t, data }
    }

    #[test]
    fn routes_each_kind_where_it_belongs() {
        assert_eq!(route(&env(11003, json!({"user_info": {"user_id": "u", "name": "n"}}))), Ok(Route::Account));
        assert_eq!(route(&env(19002, json!({}))), Ok(Route::Account));
        assert_eq!(route(&env(11009, json!({"contacts": 1, "groups": 2}))), Ok(Route::Account));
        let receipt = json!({"client_msg_id": "c", "status": "delivered", "at": 1});
        assert!(matches!(route(&env(19001, receipt)), Ok(Route::Delivery(r)) if r.client_msg_id == "c"));
        let msg = json!({"msg_id": "m", "chat_id": "c", "chat_type": "private", "sender_id": "s",
            "msg_type": "text", "text": "hi", "sent_at": 1});
        assert!(matches!(route(&env(11010, msg)), Ok(Route::Inbound(m)) if m.msg_id == "m"));
        assert_eq!(route(&env(12345, json!({}))), Err(Unroutable::Unknown(12345)));
        assert!(matches!(route(&env(11003, json!({"x": 1}))), Err(Unroutable::Malformed(_))));
    }

    #[test]
    fn only_status_events_are_ordered_and_heartbeats_stay_private() {
        for t in [11001, 11002, 11003, 11004, 11006, 11007, 11011, 11012, 19000] {
            assert!(is_ordered(t), "{t}");
        }
        for t in [11009, 11010, 19001, 19002, 4242] {
            assert!(!is_ordered(t), "{t}");
        }
        assert!(!publishes(19002));
        assert!(publishes(11010) && publishes(4242));
    }

    #[test]
    fn names_fit_the_task_centers_alphabet() {
        assert_eq!(event_type(11010), "new_message");
        assert_eq!(event_type(4242), "unknown_4242");
        assert_eq!(tenant_event_type("instance", "new_message"), "callback.new_message");
        assert_eq!(tenant_event_type("wecom", "event.change_contact"), "wecom.event.change_contact");
        assert_eq!(tenant_event_type("wecom", "Event.Weird-Name!"), "wecom.event.weird.name.");
        assert!(tenant_event_type("wecom", &"x".repeat(100)).len() <= 64);
        assert_eq!(wecom_event_type(Some("event"), Some("change_contact")), "event.change_contact");
        assert_eq!(wecom_event_type(Some("text"), None), "text");
        assert_eq!(wecom_event_type(None, None), "unknown");
    }
}
