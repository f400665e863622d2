//! Every query of the callback service, and nothing else.
//!
//! Contract: each function is generic over `C: ConnectionTrait` (a pool or
//! a caller's transaction). Reads and writes a caller can reach take the
//! tenant it is confined to (`Option<&str>`: `None` only for platform
//! callers and the processor), so another tenant's row is simply not found.
//! Writes of a claimed event are conditional on its `claim_id` (see
//! `wework_kit::lease`).

pub mod apps;
pub mod entity;
mod events;
mod processing;
mod stats;

pub use events::*;
pub use processing::*;
pub use stats::*;
pub use wework_kit::db::{from_json, new_id, to_json};
pub use wework_kit::pagination::KeysetCursor as Cursor;
