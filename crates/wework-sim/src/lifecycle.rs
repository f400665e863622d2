//! The client state machine: create → QR code → scan → confirm (→ verify
//! code) → online, and the ways out (logout, kicks, bans, lost heartbeats)
//! and back (restore). Each transition emits its callback under the clients
//! lock, so callbacks follow the order of the transitions.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use wework_client::NotifyType;
use wework_client::protocol::{ClientState, ClientStatus, CreateClientRequest, QrCode};

use crate::directory;
use crate::error::{SimError, SimResult};
use crate::faults::RateWindow;
use crate::state::{Client, Inner, now_unix};
use crate::stats::lock;

/// Why WeWork ended a session, as the control `kick` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KickReason {
    /// The user logged out on the phone: 11004 with reason `phone`.
    Logout,
    /// The WeWork session timed out: 11007.
    SessionTimeout,
    /// The account logged in on another device: 11011.
    OtherDevice,
}

impl KickReason {
    fn notify_type(self) -> NotifyType {
        match self {
            Self::Logout => NotifyType::Logout,
            Self::SessionTimeout => NotifyType::SessionTimeout,
            Self::OtherDevice => NotifyType::LoggedInElsewhere,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "phone",
            Self::SessionTimeout => "session_timeout",
            Self::OtherDevice => "other_device",
        }
    }
}

fn login_success(client: &mut Client) {
    let user_info = directory::user_info(&client.guid);
    client.state = ClientState::Online;
    client.user_info = Some(user_info.clone());
    client.emit(NotifyType::LoginSuccess, serde_json::json!({ "user_info": user_info }));
    let directory = client.directory();
    let data = serde_json::json!({ "contacts": directory.contacts.len(), "groups": directory.groups.len() });
    client.emit(NotifyType::ContactSyncFinished, data);
}

fn state_error(client: &Client, wanted: &str) -> SimError {
    match client.state {
        ClientState::Restricted => SimError::restricted(),
        state => SimError::not_logged_in(format!("client is {state:?}, not {wanted}")),
    }
}

impl Inner {
    pub fn create_client(&self, req: &CreateClientRequest) -> SimResult<String> {
        let url = req.notify_url.as_deref().filter(|u| !u.is_empty());
        if let Some(url) = url {
            check_url(url)?;
        }
        let guid = uuid::Uuid::now_v7().to_string();
        let notify_url = Arc::new(RwLock::new(url.map(str::to_owned)));
        let (outbox, task) = self.delivery.spawn(Arc::clone(&notify_url));
        self.track(task);
        let mut client = Client {
            guid: guid.clone(),
            state: ClientState::Created,
            notify_url,
            user_info: None,
            qr: None,
            require_verify: false,
            restorable: true,
            spec: self.config.directory,
            directory: None,
            sends: Vec::new(),
            sent_ids: Default::default(),
            window: RateWindow::default(),
            emitted: VecDeque::new(),
            outbox,
            faults: Arc::clone(&self.faults),
            inbound_task: None,
        };
        client.emit(NotifyType::Ready, serde_json::json!({}));
        lock(&self.clients).insert(guid.clone(), client);
        Ok(guid)
    }

    /// The current QR code while it is valid (a driver's retry gets the same
    /// one), otherwise a new one with an 11002.
    pub fn qrcode(self: &Arc<Self>, guid: &str) -> SimResult<QrCode> {
        let current = |c: &Client| c.qr.clone().filter(|(_, q)| q.expires_at > now_unix());
        let (n, qr, fresh) = self.with_client(guid, |c| match (c.state, current(c)) {
            (ClientState::WaitingScan, Some((n, qr))) => Ok((n, qr, false)),
            (ClientState::Created | ClientState::WaitingScan | ClientState::Offline, _) => {
                let qr = self.new_qr(c);
                Ok((c.qr.as_ref().map_or(1, |(n, _)| *n), qr, true))
            }
            _ => Err(state_error(c, "logged out")),
        })?;
        if fresh {
            self.expire_unscanned(guid, n);
        }
        if let (true, Some(delay)) = (fresh, self.config.auto_login) {
            let (this, guid) = (Arc::clone(self), guid.to_owned());
            self.track(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if this.scan(&guid).is_ok() {
                    let _ = this.confirm(&guid);
                }
            }));
        }
        Ok(qr)
    }

    fn new_qr(&self, c: &mut Client) -> QrCode {
        let n = c.qr.as_ref().map_or(1, |(n, _)| n + 1);
        let ttl = i64::try_from(self.config.qr_ttl.as_secs()).unwrap_or(i64::MAX);
        let qr = QrCode {
            qr_url: format!("https://sim.local/qr/{}/{n}", c.guid),
            expires_at: now_unix().saturating_add(ttl),
        };
        c.qr = Some((n, qr.clone()));
        c.state = ClientState::WaitingScan;
        c.emit(NotifyType::QrCodeChanged, serde_json::json!({ "qr_url": qr.qr_url, "expires_at": qr.expires_at }));
        qr
    }

    /// While code `n` stays unscanned, replaces it every `qr_ttl` (11002).
    fn expire_unscanned(self: &Arc<Self>, guid: &str, mut n: u32) {
        let (this, guid, ttl) = (Arc::clone(self), guid.to_owned(), self.config.qr_ttl);
        self.track(tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl).await;
                let renewed = this.with_client(&guid, |c| match (c.state, &c.qr) {
                    (ClientState::WaitingScan, Some((current, _))) if *current == n => {
                        this.new_qr(c);
                        Ok(n + 1)
                    }
                    _ => Err(SimError::invalid("superseded")),
                });
                match renewed {
                    Ok(next) => n = next,
                    Err(_) => return,
                }
            }
        }));
    }

    /// Control: the QR code expired; a new one replaces it.
    pub fn expire_qr(self: &Arc<Self>, guid: &str) -> SimResult<QrCode> {
        let (n, qr) = self.with_client(guid, |c| match c.state {
            ClientState::WaitingScan => {
                let qr = self.new_qr(c);
                Ok((c.qr.as_ref().map_or(1, |(n, _)| *n), qr))
            }
            _ => Err(state_error(c, "waiting_scan")),
        })?;
        self.expire_unscanned(guid, n);
        Ok(qr)
    }

    /// Control: the user declined on the phone (or WeWork refused): the
    /// login is abandoned, → `offline` + 11004 `declined`.
    pub fn decline(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| match c.state {
            ClientState::WaitingScan | ClientState::WaitingConfirm | ClientState::NeedVerify => {
                c.state = ClientState::Offline;
                c.reason(NotifyType::Logout, "declined");
                Ok(())
            }
            _ => Err(state_error(c, "logging in")),
        })
    }

    /// Control: the user scanned the code.
    pub fn scan(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| match c.state {
            ClientState::WaitingScan => {
                c.state = ClientState::WaitingConfirm;
                c.emit(NotifyType::QrCodeScanned, serde_json::json!({}));
                Ok(())
            }
            _ => Err(state_error(c, "waiting_scan")),
        })
    }

    /// Control: the user confirmed on the phone.
    pub fn confirm(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| match c.state {
            ClientState::WaitingConfirm if c.require_verify => {
                c.state = ClientState::NeedVerify;
                c.reason(NotifyType::SafetyVerification, "verify_code_required");
                Ok(())
            }
            ClientState::WaitingConfirm => {
                login_success(c);
                Ok(())
            }
            _ => Err(state_error(c, "waiting_confirm")),
        })
    }

    pub fn verify(&self, guid: &str, code: &str) -> SimResult<()> {
        self.with_client(guid, |c| match c.state {
            ClientState::NeedVerify if code == self.config.verify_code => {
                login_success(c);
                Ok(())
            }
            ClientState::NeedVerify => Err(SimError::invalid("wrong verification code")),
            _ => Err(state_error(c, "need_verify")),
        })
    }

    /// Logging out a logged-out (or restricted) client is a no-op, so a
    /// driver's retry of a logout that went through succeeds.
    pub fn logout(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| {
            if !matches!(c.state, ClientState::Offline | ClientState::Restricted) {
                c.state = ClientState::Offline;
                c.reason(NotifyType::Logout, "logout");
            }
            Ok(())
        })
    }

    /// Control: WeWork ended an online session.
    pub fn kick(&self, guid: &str, reason: KickReason) -> SimResult<()> {
        self.with_client(guid, |c| {
            c.require_online()?;
            c.state = ClientState::Offline;
            c.reason(reason.notify_type(), reason.as_str());
            Ok(())
        })
    }

    /// Control: heartbeats with WeWork failed: → `offline` + 11006.
    pub fn heartbeat_loss(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| {
            c.require_online()?;
            c.state = ClientState::Offline;
            c.reason(NotifyType::HeartbeatError, "heartbeat_lost");
            Ok(())
        })
    }

    /// Answers the resulting state: an offline client that logged in before
    /// comes back online (11003 + 11009) unless made unrestorable; an online
    /// one stays so silently; any other state is answered as it is (a QR
    /// login is needed).
    pub fn restore(&self, guid: &str) -> SimResult<ClientState> {
        self.with_client(guid, |c| match c.state {
            ClientState::Restricted => Err(SimError::restricted()),
            ClientState::Offline if c.restorable && c.user_info.is_some() => {
                login_success(c);
                Ok(c.state)
            }
            state => Ok(state),
        })
    }

    pub fn set_restorable(&self, guid: &str, restorable: bool) -> SimResult<()> {
        self.with_client(guid, |c| {
            c.restorable = restorable;
            Ok(())
        })
    }

    pub fn set_require_verify(&self, guid: &str, required: bool) -> SimResult<()> {
        self.with_client(guid, |c| {
            c.require_verify = required;
            Ok(())
        })
    }

    /// Control: WeWork restricted the account. It is logged out (11004,
    /// reason `account_restricted`) and every later call says so.
    pub fn ban(&self, guid: &str) -> SimResult<()> {
        self.with_client(guid, |c| {
            if c.state != ClientState::Restricted {
                c.state = ClientState::Restricted;
                c.reason(NotifyType::Logout, "account_restricted");
            }
            Ok(())
        })
    }

    pub fn status(&self, guid: &str) -> SimResult<ClientStatus> {
        self.with_client(guid, |c| {
            Ok(ClientStatus { guid: c.guid.clone(), state: c.state, user_info: c.user_info.clone() })
        })
    }

    pub fn set_notify_url(&self, guid: &str, url: &str) -> SimResult<()> {
        check_url(url)?;
        self.with_client(guid, |c| {
            *c.notify_url.write().unwrap_or_else(|e| e.into_inner()) = Some(url.to_owned());
            Ok(())
        })
    }
}

fn check_url(url: &str) -> SimResult<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(SimError::invalid("notify url must be http or https"))
    }
}
