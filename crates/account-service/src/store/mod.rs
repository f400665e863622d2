//! Every query of the account service, and nothing else.
//!
//! Contract: each function is generic over `C: ConnectionTrait` (so it runs
//! on a pool or inside a caller's transaction). Every read or write a caller
//! can reach takes the tenant it is confined to (`Option<&str>`: `None` only
//! for platform callers and the watchdog), so another tenant's row is simply
//! not found. Account writes are compare-and-set on `version`.

mod accounts;
pub mod directory;
pub mod entity;
mod history;
mod instances;

pub use accounts::*;
pub use history::*;
pub use instances::*;
pub use wework_kit::pagination::KeysetCursor as Cursor;

pub use wework_kit::db::{from_json, new_id, to_json};
pub use wework_kit::pagination::{ilike, like_pattern};
