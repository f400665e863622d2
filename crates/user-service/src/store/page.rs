//! Paging and text search helpers of the store. Keyset pagination over
//! `(created_at DESC, id DESC)` is kit's, shared by every service.

/// The shared keyset paging (`wework_kit::pagination::keyset`).
pub use wework_kit::pagination::keyset::{Cursor, MAX_PAGE, fetch_page};

/// Case-insensitive text search, shared with every service.
pub(crate) use wework_kit::pagination::{ilike, like_pattern};
