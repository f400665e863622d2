//! The directory's queries: conversations, contacts, groups and group
//! members of one account.
//!
//! Contract: every query names the tenant and the account it reaches (the
//! handler found the account within the caller's tenant first), so another
//! tenant's rows are never touched. Sync writes are multi-row upserts on the
//! WeWork key (one statement per page); what a sync did not see is swept by
//! its start stamp, never deleted.

mod contacts;
mod conversations;
mod groups;

pub use contacts::*;
pub use conversations::*;
pub use groups::*;

use sea_orm::sea_query::Expr;

/// `tags LIKE '%"tag"%'`, case-insensitively: an exact element of the JSON
/// list (the quotes delimit it), whatever else the list holds.
pub(crate) fn has_tag(col: impl sea_orm::sea_query::IntoColumnRef, tag: &str) -> Expr {
    super::ilike(col, &super::like_pattern(&super::to_json(tag)))
}
