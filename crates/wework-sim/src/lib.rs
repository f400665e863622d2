//! An in-memory simulator of a WeWork protocol instance, for development,
//! demos and tests. It serves exactly the wire types of
//! [`wework_client::protocol`] (so `wework_client::HttpProvider` drives it
//! like a real instance) and POSTs signed [`wework_client::CallbackEnvelope`]
//! callbacks to each client's notify url. A control surface plays the WeWork
//! side (the phone scanning, WeWork kicking or banning, customers writing)
//! and injects faults.
//!
//! # Use from a test
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use wework_sim::{Faults, SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await?; // 127.0.0.1:0
//! let provider = wework_client::HttpProvider::new(&sim.base_url(), sim.token(), Default::default())?;
//! // provider.create_client(..), provider.get_qr_code(&guid) ...
//! # let guid = String::new();
//! sim.login(&guid).await?; // scan + confirm
//! sim.set_faults(Faults { error_rate: 0.5, ..Faults::default() });
//! assert_eq!(sim.send_count(&guid, "client-msg-1"), 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! `docs/instance-protocol.md` is the contract; the simulator follows it.
//!
//! - **Login**: `create` → `created` + 11001; `qrcode` → `waiting_scan` +
//!   11002 (a still-valid code is returned again without a callback; an
//!   unscanned code is replaced every `qr_ttl` with another 11002); scan →
//!   `waiting_confirm` + 19000; confirm → `online` + 11003 + 11009, or
//!   `need_verify` + 11012 when verification is required; `verify` with the
//!   configured code → `online` + 11003 + 11009, a wrong code is
//!   `invalid_request`, verifying in another state `not_logged_in`; decline
//!   → `offline` + 11004 (`declined`).
//! - **Ending**: `logout` → `offline` + 11004 (`logout`; a no-op when
//!   already offline); kick `logout` / `session_timeout` / `other_device` →
//!   `offline` + 11004 (`phone`) / 11007 / 11011; heartbeat loss →
//!   `offline` with 11006; ban → `restricted` + 11004 (`account_restricted`), after which
//!   calls answer `account_restricted` (status still answers). `restore`
//!   answers the state it reaches: an offline client that logged in before
//!   comes back `online` (+ 11003 + 11009) unless made unrestorable (then
//!   `offline`: a QR login is needed); an online client stays so silently.
//! - **Sends** need `online`; `(guid, client_msg_id)` is de-duplicated first
//!   (a repeat answers the first `msg_id` with `duplicate: true`, whatever
//!   the client's state now); then the rate limit; a performed send emits
//!   19001 `sent` and, `delivery_delay` later, 19001 `delivered`.
//! - **Lists** need `online`; cursors are offsets, limits 1..=500.
//! - **Heartbeats**: 19002 for each online client every `heartbeat_interval`
//!   (zero: only when asked, `emit_heartbeats`).
//! - **Callbacks** go through one ordered queue per client to its current
//!   notify url (none: counted `unroutable` and skipped), signed with the
//!   token (`x-wework-timestamp`, `x-wework-signature`, a unique
//!   `x-wework-callback-id` kept on re-sends), retried with bounded backoff.
//! - **Faults** ([`Faults`], global): API latency and 503s (a refused call
//!   is not performed), sends held past the driver's timeout after they were
//!   performed, a per-client rolling-minute send limit, silent heartbeat
//!   loss, dropped and duplicated callbacks (rolled when emitted).

//! # Control routes (dev only: unauthenticated; the binary binds loopback)
//!
//! All `POST` with a JSON body unless marked `GET`; all answer an
//! `Envelope`. Each mirrors a [`Simulator`] method.
//!
//! | route | body | effect |
//! |---|---|---|
//! | `/control/scan` | `{guid}` | the phone scans the QR code |
//! | `/control/confirm` | `{guid}` | the phone confirms the login |
//! | `/control/decline` | `{guid}` | the phone declines: login abandoned |
//! | `/control/require-verify` | `{guid, value: bool}` | later confirms need a verify code |
//! | `/control/expire-qr` | `{guid}` | the QR code expires; a new one + 11002 |
//! | `/control/kick` | `{guid, reason: "logout"\|"session_timeout"\|"other_device"}` | WeWork ends the session |
//! | `/control/heartbeat-loss` | `{guid}` | heartbeats failed: offline, 11006 |
//! | `/control/restorable` | `{guid, value: bool}` | whether `restore` can succeed |
//! | `/control/ban` | `{guid}` | the account is restricted |
//! | `/control/heartbeats` | `{}` | one round of 19002 now; answers the count |
//! | `/control/directory` | `{guid, contacts, groups, members_per_group}` | regenerate the directory |
//! | `/control/remove-group-member` | `{guid, group_id, user_id}` | a member leaves a group |
//! | `/control/add-contact` | `{guid, contact: Contact}` | a contact appears |
//! | `/control/remove-contact` | `{guid, user_id}` | a contact disappears |
//! | `/control/inbound` | `{guid, chat_id?, chat_type?, chat_name?, sender_id?, sender_name?, content?, at_list?}` | a message arrives: 11010; answers its data |
//! | `/control/inbound-rate` | `{guid, per_sec}` | generate messages continuously (0 stops) |
//! | `/control/faults` | `Faults` (`GET` reads) | replace the global faults |
//! | `GET /control/stats` | | the [`Stats`] counters |
//! | `/control/client` | `{guid}` | the client's status |
//! | `/control/sends` | `{guid}` | the sends performed, in order |
//! | `/control/callbacks` | `{guid}` | the callbacks emitted, in order |

mod api;
mod callbacks;
pub mod config;
mod control;
pub mod directory;
pub mod error;
pub mod faults;
mod handle;
mod lifecycle;
mod lists;
mod messaging;
mod state;
pub mod stats;

pub use config::{CallbackConfig, DirectorySpec, SimConfig};
pub use error::{SimError, SimResult};
pub use faults::Faults;
pub use handle::Simulator;
pub use lifecycle::KickReason;
pub use messaging::Inbound;
pub use state::SentMessage;
pub use stats::Stats;
