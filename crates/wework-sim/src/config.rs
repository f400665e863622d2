//! [`SimConfig`]: everything a simulator is started with. Runtime knobs that
//! tests flip while it runs ([`crate::Faults`], per-client switches) live
//! elsewhere; these are fixed for the simulator's life.

use std::net::SocketAddr;
use std::time::Duration;

/// How many contacts and groups a client's generated directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirectorySpec {
    pub contacts: u32,
    pub groups: u32,
    pub members_per_group: u32,
}

impl Default for DirectorySpec {
    fn default() -> Self {
        Self { contacts: 50, groups: 5, members_per_group: 20 }
    }
}

/// Outbound callback delivery: attempts are bounded so a dead receiver
/// cannot grow a client's queue forever.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// Attempts per callback, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per retry up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Whole-request timeout of one POST.
    pub timeout: Duration,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free one (tests).
    pub listen: SocketAddr,
    /// The shared token: API calls present it as a Bearer token and
    /// callbacks are signed with it.
    pub token: String,
    /// Period of 19002 heartbeats; zero disables the ticker (tests then call
    /// `emit_heartbeats`).
    pub heartbeat_interval: Duration,
    /// How long a QR code is valid (its `expires_at`).
    pub qr_ttl: Duration,
    /// The code `verify` accepts.
    pub verify_code: String,
    /// From a send's `sent` receipt to its `delivered` receipt.
    pub delivery_delay: Duration,
    /// Directory size of new clients.
    pub directory: DirectorySpec,
    pub callbacks: CallbackConfig,
    /// Demo mode: scan and confirm this long after a QR code is issued.
    pub auto_login: Option<Duration>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "sim-token".to_owned(),
            heartbeat_interval: Duration::from_secs(30),
            qr_ttl: Duration::from_secs(120),
            verify_code: "123456".to_owned(),
            delivery_delay: Duration::from_millis(20),
            directory: DirectorySpec::default(),
            callbacks: CallbackConfig::default(),
            auto_login: None,
        }
    }
}
