//! Every query of the user service, and nothing else.
//!
//! Contract: each function is generic over `C: ConnectionTrait`, so it runs on
//! a pooled connection or inside a transaction the caller opened; each query
//! on a table that has `tenant_id` is scoped by it (the caller passes the
//! tenant from the principal, never from a request body). The few unscoped
//! lookups are authentication entry points (`find_session`,
//! `find_api_key_by_prefix`) and global tables (catalogue, signing keys).
//! Errors are `sea_orm::DbErr`; the service maps them with
//! `kit::errors::from_db_err`.

mod api_keys;
mod audit;
pub mod entity;
mod json;
mod login_state;
mod page;
mod quota;
mod roles;
mod sessions;
mod signing_keys;
mod status;
mod tenants;
mod user_roles;
mod users;

pub use api_keys::*;
pub use audit::*;
pub use login_state::*;
pub use page::{Cursor, MAX_PAGE};
pub use quota::*;
pub use roles::*;
pub use sessions::*;
pub use signing_keys::*;
pub use status::*;
pub use tenants::*;
pub use user_roles::*;
pub use users::*;
pub use wework_kit::db::new_id;
