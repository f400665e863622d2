//! Every query of the message service, and nothing else.
//!
//! Contract: each function is generic over `C: ConnectionTrait` (so it runs
//! on a pool or inside a caller's transaction). Every read or write a caller
//! can reach takes the tenant it is confined to (`Option<&str>`: `None` only
//! for platform callers and the workers), so another tenant's row is simply
//! not found. Writes of a claimed message are conditional on its `claim_id`
//! (see `wework_kit::lease`).

pub mod batch_lease;
pub mod batches;
mod delivery;
mod dispatch;
pub mod entity;
mod message_queries;
mod messages;
pub mod receivers;
mod retention;
mod statistics;
mod statistics_query;
mod template_lookup;
pub mod templates;

pub use delivery::*;
pub use dispatch::*;
pub use message_queries::*;
pub use messages::*;
pub use retention::*;
pub use statistics::*;
pub use statistics_query::*;
pub use template_lookup::*;
pub use wework_kit::db::{from_json, new_id, to_json};
pub use wework_kit::pagination::KeysetCursor as Cursor;
