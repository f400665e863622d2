//! What an instance callback means for its account. The callback service
//! parses a callback and calls `ReportEvent`; this decides the effect, the
//! store applies it through the state machine (an effect the current status
//! does not allow is reported back as not applied, never forced).

use chrono::{DateTime, Utc};
use wework_client::callback::{CallbackEvent, ContactSyncData, NewMessageData};
use wework_client::protocol::UserInfo;

use super::AccountStatus;

/// A status change an event asks for, with the details it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub to: AccountStatus,
    pub reason: String,
    pub qr: Option<(String, DateTime<Utc>)>,
    pub user_info: Option<UserInfo>,
    pub error: Option<String>,
    /// The watchdog should try to restore the session (it dropped by
    /// accident, not by a person's decision).
    pub recover: bool,
}

impl StatusUpdate {
    pub fn to(to: AccountStatus, reason: impl Into<String>) -> Self {
        Self { to, reason: reason.into(), qr: None, user_info: None, error: None, recover: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventEffect {
    Status(Box<StatusUpdate>),
    /// The client is alive.
    Heartbeat,
    /// A message arrived: the conversation is upserted.
    NewMessage(Box<NewMessageData>),
    /// The instance finished a contact sync: the directory is refreshed.
    SyncFinished(ContactSyncData),
    /// Nothing for the account service to do; the text says why.
    Ignore(&'static str),
}

fn offline(reason: &str, detail: &str, recover: bool) -> EventEffect {
    let reason = if detail.is_empty() { reason.to_owned() } else { format!("{reason}: {detail}") };
    let mut update = StatusUpdate::to(AccountStatus::Offline, reason);
    update.recover = recover;
    EventEffect::Status(Box::new(update))
}

/// The effect of one parsed callback.
pub fn effect_of(event: CallbackEvent) -> EventEffect {
    match event {
        CallbackEvent::Ready => EventEffect::Ignore("client ready; nothing changes until a QR code"),
        CallbackEvent::QrCodeChanged(qr) => {
            let expires = DateTime::from_timestamp(qr.expires_at, 0).unwrap_or_default();
            let mut update = StatusUpdate::to(AccountStatus::WaitingScan, "qr code issued");
            update.qr = Some((qr.qr_url, expires));
            EventEffect::Status(Box::new(update))
        }
        CallbackEvent::QrCodeScanned => {
            EventEffect::Status(Box::new(StatusUpdate::to(AccountStatus::WaitingConfirm, "qr code scanned")))
        }
        CallbackEvent::LoginSuccess(data) => {
            let mut update = StatusUpdate::to(AccountStatus::Online, "login succeeded");
            update.user_info = Some(data.user_info);
            EventEffect::Status(Box::new(update))
        }
        CallbackEvent::SafetyVerification(r) => {
            let mut update = StatusUpdate::to(AccountStatus::NeedVerify, "verification code required");
            update.error = Some(r.reason).filter(|s| !s.is_empty());
            EventEffect::Status(Box::new(update))
        }
        // A person logged out (here or on the phone): do not log back in.
        CallbackEvent::Logout(r) => offline("logged out", &r.reason, false),
        // Logging back in would kick the other device, which a person chose.
        CallbackEvent::LoggedInElsewhere(r) => offline("logged in on another device", &r.reason, false),
        CallbackEvent::SessionTimeout(r) => offline("session timed out", &r.reason, true),
        CallbackEvent::HeartbeatError(r) => offline("heartbeat lost", &r.reason, true),
        CallbackEvent::Heartbeat => EventEffect::Heartbeat,
        CallbackEvent::NewMessage(m) => EventEffect::NewMessage(m),
        CallbackEvent::ContactSyncFinished(d) => EventEffect::SyncFinished(d),
        CallbackEvent::SendResult(_) => EventEffect::Ignore("send results belong to the message service"),
    }
}

#[cfg(test)]
mod tests {
    use wework_client::callback::{LoginSuccessData, QrCodeChangedData, ReasonData};

    use super::*;

    fn status_of(e: EventEffect) -> StatusUpdate {
        match e {
            EventEffect::Status(s) => *s,
            other => panic!("not a status change: {other:?}"),
        }
    }

    #[test]
    fn login_events_walk_the_machine() {
        let qr = status_of(effect_of(CallbackEvent::QrCodeChanged(QrCodeChangedData {
            qr_url: "u".into(),
            expires_at: 60,
        })));
        assert_eq!(qr.to, AccountStatus::WaitingScan);
        assert_eq!(qr.qr.map(|(u, t)| (u, t.timestamp())), Some(("u".to_owned(), 60)));
        assert_eq!(status_of(effect_of(CallbackEvent::QrCodeScanned)).to, AccountStatus::WaitingConfirm);
        let online =
            status_of(effect_of(CallbackEvent::LoginSuccess(LoginSuccessData { user_info: UserInfo::default() })));
        assert_eq!((online.to, online.user_info.is_some()), (AccountStatus::Online, true));
        let verify = status_of(effect_of(CallbackEvent::SafetyVerification(ReasonData::default())));
        assert_eq!((verify.to, verify.error), (AccountStatus::NeedVerify, None));
    }

    #[test]
    fn only_accidental_drops_are_recovered() {
        let r = || ReasonData { reason: "x".into() };
        for (event, recover) in [
            (CallbackEvent::Logout(r()), false),
            (CallbackEvent::LoggedInElsewhere(r()), false),
            (CallbackEvent::SessionTimeout(r()), true),
            (CallbackEvent::HeartbeatError(r()), true),
        ] {
            let update = status_of(effect_of(event));
            assert_eq!((update.to, update.recover), (AccountStatus::Offline, recover), "{}", update.reason);
            assert!(update.reason.ends_with(": x"));
        }
    }

    #[test]
    fn other_events_are_not_status_changes() {
        assert_eq!(effect_of(CallbackEvent::Heartbeat), EventEffect::Heartbeat);
        assert!(matches!(effect_of(CallbackEvent::Ready), EventEffect::Ignore(_)));
    }
}
