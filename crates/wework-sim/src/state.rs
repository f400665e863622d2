//! The simulator's memory: every client with its state machine position,
//! notify url, directory, sends and callback queue, plus the global faults
//! and counters. One mutex guards the clients; callbacks are enqueued while
//! it is held, so their order per client is the order of the state changes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wework_client::protocol::{ChatType, ClientState, MessageContent, QrCode, UserInfo};
use wework_client::{CallbackEnvelope, NotifyType};

use crate::callbacks::{NotifyUrl, Outgoing};
use crate::config::{DirectorySpec, SimConfig};
use crate::directory::Directory;
use crate::error::{SimError, SimResult};
use crate::faults::{Faults, RateWindow};
use crate::stats::{Counters, lock};

/// How many emitted callbacks a client keeps for [`crate::Simulator::callbacks_of`].
const CALLBACK_LOG_CAP: usize = 10_000;

/// A send the simulator performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub client_msg_id: String,
    pub msg_id: String,
    pub chat_id: String,
    pub chat_type: ChatType,
    #[serde(flatten)]
    pub content: MessageContent,
    #[serde(default)]
    pub at_list: Vec<String>,
    /// Unix milliseconds.
    pub at: i64,
}

pub(crate) struct Client {
    pub guid: String,
    pub state: ClientState,
    pub notify_url: NotifyUrl,
    pub user_info: Option<UserInfo>,
    /// The current QR code and its sequence number (1 = first).
    pub qr: Option<(u32, QrCode)>,
    pub require_verify: bool,
    pub restorable: bool,
    pub spec: DirectorySpec,
    pub directory: Option<Directory>,
    /// Every performed send, in order.
    pub sends: Vec<SentMessage>,
    /// client_msg_id → msg_id of its one performed send.
    pub sent_ids: HashMap<String, String>,
    pub window: RateWindow,
    pub emitted: VecDeque<CallbackEnvelope>,
    pub outbox: mpsc::UnboundedSender<Outgoing>,
    pub faults: Arc<RwLock<Faults>>,
    pub inbound_task: Option<JoinHandle<()>>,
}

impl Client {
    /// Queues a callback for delivery to the current notify url.
    pub fn emit(&mut self, kind: NotifyType, data: serde_json::Value) {
        let envelope = CallbackEnvelope::new(self.guid.clone(), kind, data);
        if self.emitted.len() >= CALLBACK_LOG_CAP {
            self.emitted.pop_front();
        }
        self.emitted.push_back(envelope.clone());
        let item = Outgoing::new(envelope, &self.faults);
        // The delivery task only stops at shutdown; a callback emitted after
        // that has nowhere to go.
        let _ = self.outbox.send(item);
    }

    pub fn reason(&mut self, kind: NotifyType, reason: &str) {
        self.emit(kind, serde_json::json!({ "reason": reason }));
    }

    /// The directory, generated on first use.
    pub fn directory(&mut self) -> &mut Directory {
        let (guid, spec) = (&self.guid, self.spec);
        self.directory.get_or_insert_with(|| Directory::generate(guid, spec))
    }

    /// Lists and sends need a logged-in, unrestricted client.
    pub fn require_online(&self) -> SimResult<()> {
        match self.state {
            ClientState::Online => Ok(()),
            ClientState::Restricted => Err(SimError::restricted()),
            other => Err(SimError::not_logged_in(format!("client is {other:?}"))),
        }
    }
}

pub(crate) struct Inner {
    pub config: SimConfig,
    pub clients: Mutex<HashMap<String, Client>>,
    pub faults: Arc<RwLock<Faults>>,
    pub stats: Arc<Counters>,
    pub delivery: Arc<crate::callbacks::Delivery>,
    /// Health's `boot_id`: new on every start.
    pub boot_id: String,
    /// Background tasks stopped at shutdown.
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    /// Runs `f` on one client under the lock.
    pub fn with_client<T>(&self, guid: &str, f: impl FnOnce(&mut Client) -> SimResult<T>) -> SimResult<T> {
        let mut clients = lock(&self.clients);
        let client = clients.get_mut(guid).ok_or_else(|| SimError::unknown_client(guid))?;
        f(client)
    }

    pub fn faults(&self) -> Faults {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn track(&self, task: JoinHandle<()>) {
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
}

pub(crate) fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
