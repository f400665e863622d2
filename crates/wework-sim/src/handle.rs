//! [`Simulator`]: a running simulator and the in-process handle on it. The
//! same operations as the `/control` routes, for tests in the same process;
//! cheap to clone (one `Arc`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use wework_client::callback::NewMessageData;
use wework_client::protocol::{ClientState, ClientStatus, Contact, QrCode};
use wework_client::{CallbackEnvelope, HttpProvider, HttpProviderConfig};

use crate::callbacks::Delivery;
use crate::config::{DirectorySpec, SimConfig};
use crate::error::SimResult;
use crate::faults::Faults;
use crate::lifecycle::KickReason;
use crate::messaging::Inbound;
use crate::state::{Inner, SentMessage};
use crate::stats::{Counters, Stats, lock};

/// A running simulator. Dropping every clone does not stop it; call
/// [`Simulator::shutdown`] (a test's runtime ending also stops it).
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
    shared: Arc<Shared>,
}

struct Shared {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Simulator {
    /// Binds `config.listen`, serves the protocol and `/control` routes and
    /// starts the heartbeat ticker.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        let http = HttpProvider::client(&HttpProviderConfig {
            request_timeout: config.callbacks.timeout,
            ..HttpProviderConfig::default()
        })?;
        let faults = Arc::new(RwLock::new(Faults::default()));
        let stats = Arc::new(Counters::default());
        let delivery = Arc::new(Delivery {
            token: config.token.clone(),
            http,
            config: config.callbacks.clone(),
            stats: Arc::clone(&stats),
        });
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let boot_id = uuid::Uuid::now_v7().to_string();
        let (clients, tasks) = (Mutex::default(), Mutex::default());
        let inner = Arc::new(Inner { config, clients, faults, stats, delivery, boot_id, tasks });
        let app = crate::api::router(Arc::clone(&inner)).merge(crate::control::router(Arc::clone(&inner)));
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "simulator server failed");
            }
        });
        let interval = inner.config.heartbeat_interval;
        if !interval.is_zero() {
            let ticker = Arc::clone(&inner);
            inner.track(tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
                loop {
                    tick.tick().await;
                    ticker.emit_heartbeats();
                }
            }));
        }
        tracing::info!(%addr, "wework simulator listening");
        Ok(Self { inner, shared: Arc::new(Shared { addr, stop, server: Mutex::new(Some(server)) }) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://<addr>`: the instance's api url for an `HttpProvider`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn token(&self) -> &str {
        &self.inner.config.token
    }

    /// Health's `boot_id`, new on every start.
    pub fn boot_id(&self) -> &str {
        &self.inner.boot_id
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Stops serving, the heartbeat ticker, the inbound generators and every
    /// callback queue (undelivered callbacks are lost, as in a crash).
    pub async fn shutdown(&self) {
        let _ = self.shared.stop.send(true);
        let server = lock(&self.shared.server).take();
        if let Some(server) = server {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        for task in lock(&self.inner.tasks).drain(..) {
            task.abort();
        }
        for client in lock(&self.inner.clients).values_mut() {
            if let Some(task) = client.inbound_task.take() {
                task.abort();
            }
        }
    }

    // --- the WeWork side of a login ---

    pub async fn scan(&self, guid: &str) -> SimResult<()> {
        self.inner.scan(guid)
    }

    pub async fn confirm(&self, guid: &str) -> SimResult<()> {
        self.inner.confirm(guid)
    }

    /// Scan and confirm in one step.
    pub async fn login(&self, guid: &str) -> SimResult<()> {
        self.inner.scan(guid)?;
        self.inner.confirm(guid)
    }

    pub async fn require_verify(&self, guid: &str, required: bool) -> SimResult<()> {
        self.inner.set_require_verify(guid, required)
    }

    pub async fn expire_qr(&self, guid: &str) -> SimResult<QrCode> {
        self.inner.expire_qr(guid)
    }

    /// The user declines the login on the phone.
    pub async fn decline(&self, guid: &str) -> SimResult<()> {
        self.inner.decline(guid)
    }

    pub async fn kick(&self, guid: &str, reason: KickReason) -> SimResult<()> {
        self.inner.kick(guid, reason)
    }

    pub async fn heartbeat_loss(&self, guid: &str) -> SimResult<()> {
        self.inner.heartbeat_loss(guid)
    }

    pub async fn set_restorable(&self, guid: &str, restorable: bool) -> SimResult<()> {
        self.inner.set_restorable(guid, restorable)
    }

    pub async fn ban(&self, guid: &str) -> SimResult<()> {
        self.inner.ban(guid)
    }

    /// One round of heartbeats now; returns how many clients beat.
    pub async fn emit_heartbeats(&self) -> usize {
        self.inner.emit_heartbeats()
    }

    // --- directory and inbound messages ---

    pub async fn set_directory(&self, guid: &str, spec: DirectorySpec) -> SimResult<()> {
        self.inner.set_directory(guid, spec)
    }

    pub async fn remove_group_member(&self, guid: &str, group_id: &str, user_id: &str) -> SimResult<()> {
        self.inner.remove_group_member(guid, group_id, user_id)
    }

    pub async fn add_contact(&self, guid: &str, contact: Contact) -> SimResult<()> {
        self.inner.add_contact(guid, contact)
    }

    pub async fn remove_contact(&self, guid: &str, user_id: &str) -> SimResult<()> {
        self.inner.remove_contact(guid, user_id)
    }

    pub async fn inbound(&self, guid: &str, message: Inbound) -> SimResult<NewMessageData> {
        self.inner.inbound(guid, message)
    }

    pub async fn inbound_rate(&self, guid: &str, per_sec: u32) -> SimResult<()> {
        self.inner.inbound_rate(guid, per_sec)
    }

    // --- faults and observations ---

    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        self.inner.faults()
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats.snapshot()
    }

    /// API calls so far on one path (e.g. `paths::CLIENT_STATUS`).
    pub fn api_calls(&self, path: &str) -> u64 {
        lock(&self.inner.stats.api_calls).get(path).copied().unwrap_or(0)
    }

    pub fn client_state(&self, guid: &str) -> Option<ClientState> {
        self.inner.status(guid).ok().map(|s| s.state)
    }

    pub fn client_status(&self, guid: &str) -> SimResult<ClientStatus> {
        self.inner.status(guid)
    }

    /// Every guid the simulator knows.
    pub fn guids(&self) -> Vec<String> {
        lock(&self.inner.clients).keys().cloned().collect()
    }

    /// The sends performed for a client, in order (empty for an unknown one).
    pub fn sends_of(&self, guid: &str) -> Vec<SentMessage> {
        self.inner.with_client(guid, |c| Ok(c.sends.clone())).unwrap_or_default()
    }

    /// How many times `(guid, client_msg_id)` was actually sent.
    pub fn send_count(&self, guid: &str, client_msg_id: &str) -> usize {
        self.sends_of(guid).iter().filter(|s| s.client_msg_id == client_msg_id).count()
    }

    /// Callbacks emitted for a client (whether or not delivered), oldest
    /// first; the last 10,000 are kept.
    pub fn callbacks_of(&self, guid: &str) -> Vec<CallbackEnvelope> {
        self.inner.with_client(guid, |c| Ok(c.emitted.iter().cloned().collect())).unwrap_or_default()
    }
}
