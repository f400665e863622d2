//! Callbacks an instance POSTs to a client's notify url: the
//! `{guid, notify_type, data}` envelope, the notify types (numbered as common
//! WeWork protocol services number them, plus ours in the 19xxx range), the
//! typed `data` of each, and the HMAC signature that lets the platform reject
//! forgeries.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::protocol::{ChatType, MessageContent, UserInfo};

/// The body of every callback. `data` is kept as raw JSON so a receiver can
/// store it before it understands it; [`CallbackEnvelope::event`] parses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackEnvelope {
    pub guid: String,
    pub notify_type: i32,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// The notify types. Unknown numbers are not an error for a receiver: it
/// stores and ignores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum NotifyType {
    /// The client is created and ready to log in.
    Ready = 11001,
    /// A new QR code replaced the previous one (also sent when one expires).
    QrCodeChanged = 11002,
    /// The user scanned and confirmed: the account is online.
    LoginSuccess = 11003,
    /// Logged out (by us, by the user on the phone, or by WeWork).
    Logout = 11004,
    /// The instance missed heartbeats with WeWork; the session may be gone.
    HeartbeatError = 11006,
    /// The WeWork session timed out.
    SessionTimeout = 11007,
    /// A contact/group sync the instance ran finished.
    ContactSyncFinished = 11009,
    /// A message arrived.
    NewMessage = 11010,
    /// The account logged in on another device, which ended this session.
    LoggedInElsewhere = 11011,
    /// WeWork wants a verification code before the login completes.
    SafetyVerification = 11012,
    /// The QR code was scanned; waiting for the user to confirm on the phone.
    QrCodeScanned = 19000,
    /// Outcome of a send: sent, delivered or failed (ours).
    SendResult = 19001,
    /// The client is alive (ours; every `heartbeat_interval`).
    Heartbeat = 19002,
}

impl NotifyType {
    pub const ALL: [NotifyType; 13] = [
        Self::Ready,
        Self::QrCodeChanged,
        Self::LoginSuccess,
        Self::Logout,
        Self::HeartbeatError,
        Self::SessionTimeout,
        Self::ContactSyncFinished,
        Self::NewMessage,
        Self::LoggedInElsewhere,
        Self::SafetyVerification,
        Self::QrCodeScanned,
        Self::SendResult,
        Self::Heartbeat,
    ];

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as i32 == code)
    }

    pub fn code(self) -> i32 {
        self as i32
    }

    /// A stable name for logs, metrics and stored rows.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::QrCodeChanged => "qr_code_changed",
            Self::LoginSuccess => "login_success",
            Self::Logout => "logout",
            Self::HeartbeatError => "heartbeat_error",
            Self::SessionTimeout => "session_timeout",
            Self::ContactSyncFinished => "contact_sync_finished",
            Self::NewMessage => "new_message",
            Self::LoggedInElsewhere => "logged_in_elsewhere",
            Self::SafetyVerification => "safety_verification",
            Self::QrCodeScanned => "qr_code_scanned",
            Self::SendResult => "send_result",
            Self::Heartbeat => "heartbeat",
        }
    }
}

/// `data` of 11002.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCodeChangedData {
    pub qr_url: String,
    pub expires_at: i64,
}

/// `data` of 11003.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSuccessData {
    pub user_info: UserInfo,
}

/// `data` of 11004, 11006, 11007, 11011, 11012: why it happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonData {
    #[serde(default)]
    pub reason: String,
}

/// `data` of 11009.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSyncData {
    pub contacts: u32,
    pub groups: u32,
}

/// `data` of 11010.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessageData {
    /// WeWork's global id of the message: the receiver's dedup key.
    pub msg_id: String,
    pub chat_id: String,
    pub chat_type: ChatType,
    #[serde(default)]
    pub chat_name: String,
    pub sender_id: String,
    #[serde(default)]
    pub sender_name: String,
    #[serde(flatten)]
    pub content: MessageContent,
    #[serde(default)]
    pub at_list: Vec<String>,
    /// Unix milliseconds.
    pub sent_at: i64,
}

/// Outcome named in a 19001 receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    Sent,
    Delivered,
    Failed,
}

/// `data` of 19001.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResultData {
    pub client_msg_id: String,
    #[serde(default)]
    pub msg_id: String,
    pub status: SendStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
}

/// A callback's data, typed by its notify type.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackEvent {
    Ready,
    QrCodeChanged(QrCodeChangedData),
    QrCodeScanned,
    LoginSuccess(LoginSuccessData),
    Logout(ReasonData),
    HeartbeatError(ReasonData),
    SessionTimeout(ReasonData),
    ContactSyncFinished(ContactSyncData),
    NewMessage(Box<NewMessageData>),
    LoggedInElsewhere(ReasonData),
    SafetyVerification(ReasonData),
    SendResult(SendResultData),
    Heartbeat,
}

/// Why a callback could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("unknown notify_type {0}")]
    UnknownType(i32),
    #[error("data of notify_type {notify_type} is malformed: {source}")]
    Malformed { notify_type: i32, source: serde_json::Error },
}

impl CallbackEnvelope {
    pub fn new(guid: impl Into<String>, notify_type: NotifyType, data: serde_json::Value) -> Self {
        Self { guid: guid.into(), notify_type: notify_type.code(), data }
    }

    /// Types the `data` by `notify_type`.
    pub fn event(&self) -> Result<CallbackEvent, ParseError> {
        let kind = NotifyType::from_code(self.notify_type).ok_or(ParseError::UnknownType(self.notify_type))?;
        let parse = |_: ()| -> Result<CallbackEvent, serde_json::Error> {
            let data = || self.data.clone();
            let reason = || -> Result<ReasonData, serde_json::Error> {
                if self.data.is_null() { Ok(ReasonData::default()) } else { serde_json::from_value(data()) }
            };
            Ok(match kind {
                NotifyType::Ready => CallbackEvent::Ready,
                NotifyType::QrCodeChanged => CallbackEvent::QrCodeChanged(serde_json::from_value(data())?),
                NotifyType::QrCodeScanned => CallbackEvent::QrCodeScanned,
                NotifyType::LoginSuccess => CallbackEvent::LoginSuccess(serde_json::from_value(data())?),
                NotifyType::Logout => CallbackEvent::Logout(reason()?),
                NotifyType::HeartbeatError => CallbackEvent::HeartbeatError(reason()?),
                NotifyType::SessionTimeout => CallbackEvent::SessionTimeout(reason()?),
                NotifyType::ContactSyncFinished => CallbackEvent::ContactSyncFinished(serde_json::from_value(data())?),
                NotifyType::NewMessage => CallbackEvent::NewMessage(Box::new(serde_json::from_value(data())?)),
                NotifyType::LoggedInElsewhere => CallbackEvent::LoggedInElsewhere(reason()?),
                NotifyType::SafetyVerification => CallbackEvent::SafetyVerification(reason()?),
                NotifyType::SendResult => CallbackEvent::SendResult(serde_json::from_value(data())?),
                NotifyType::Heartbeat => CallbackEvent::Heartbeat,
            })
        };
        parse(()).map_err(|source| ParseError::Malformed { notify_type: self.notify_type, source })
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The `x-wework-signature` value for a body signed at `timestamp`:
/// `v1=` + hex(HMAC-SHA256(token, "<timestamp>.<body>")).
pub fn sign(token: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(token).unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Why a callback signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature or timestamp header missing or malformed")]
    Malformed,
    #[error("timestamp outside the accepted window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a callback: the signature must match in constant time and the
/// timestamp be within `tolerance_secs` of `now` (replays of old callbacks
/// are refused).
pub fn verify(
    token: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp_header.trim().parse().map_err(|_| SignatureError::Malformed)?;
    if (now_unix - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let presented = signature_header.trim();
    if !presented.starts_with("v1=") {
        return Err(SignatureError::Malformed);
    }
    let expected = sign(token, timestamp, body);
    if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), presented.as_bytes()).into() {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_notify_type_round_trips_its_code() {
        for t in NotifyType::ALL {
            assert_eq!(NotifyType::from_code(t.code()), Some(t));
        }
        assert_eq!(NotifyType::from_code(11005), None);
    }

    #[test]
    fn parses_typed_data_and_names_what_is_wrong() {
        let qr = CallbackEnvelope::new("g1", NotifyType::QrCodeChanged, json!({"qr_url": "u", "expires_at": 5}));
        assert_eq!(
            qr.event().ok(),
            Some(CallbackEvent::QrCodeChanged(QrCodeChangedData { qr_url: "u".into(), expires_at: 5 }))
        );
        let logout = CallbackEnvelope::new("g1", NotifyType::Logout, serde_json::Value::Null);
        assert_eq!(logout.event().ok(), Some(CallbackEvent::Logout(ReasonData::default())));
        let bad = CallbackEnvelope::new("g1", NotifyType::LoginSuccess, json!({"nope": 1}));
        assert!(matches!(bad.event(), Err(ParseError::Malformed { notify_type: 11003, .. })));
        let unknown = CallbackEnvelope { guid: "g".into(), notify_type: 1, data: json!({}) };
        assert!(matches!(unknown.event(), Err(ParseError::UnknownType(1))));
    }

    #[test]
    fn new_message_carries_flattened_content() {
        let raw = json!({"msg_id": "m1", "chat_id": "c", "chat_type": "group", "sender_id": "u",
            "msg_type": "text", "text": "hi", "sent_at": 1});
        let env = CallbackEnvelope::new("g", NotifyType::NewMessage, raw);
        let Ok(CallbackEvent::NewMessage(m)) = env.event() else { panic!("not a message") };
        assert_eq!(m.content, MessageContent::Text { text: "hi".into() });
    }

    #[test]
    fn signatures_verify_and_refuse_forgeries_and_replays() {
        let body = br#"{"guid":"g","notify_type":11001,"data":{}}"#;
        let sig = sign(b"token", 1_000, body);
        assert_eq!(verify(b"token", "1000", &sig, body, 1_010, 300), Ok(()));
        assert_eq!(verify(b"other", "1000", &sig, body, 1_010, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"token", "1000", &sig, b"{}", 1_010, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"token", "1000", &sig, body, 2_000, 300), Err(SignatureError::Stale));
        assert_eq!(verify(b"token", "x", &sig, body, 1_010, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(b"token", "1000", "abc", body, 1_010, 300), Err(SignatureError::Malformed));
    }
}
