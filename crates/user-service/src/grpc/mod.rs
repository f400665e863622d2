//! The tonic trait implementations. Handlers decode and validate requests,
//! authenticate and authorise the caller, call the domain and the store, and
//! map errors through [`crate::error::Error`]. No SQL here.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod context;
pub mod convert;
pub mod quota;
pub mod roles;
pub mod sessions;
pub mod tenants;
pub mod totp;
pub mod user_view;
pub mod users;

use crate::state::AppState;

/// One value implements every service of this crate; each trait lives in
/// its own module.
#[derive(Clone)]
pub struct Api {
    pub(crate) state: AppState,
}

impl Api {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Runs a handler body and converts its error into a `Status`. A function
/// (not a plain `match`) so the body's error type is inferred as `Error`.
pub(crate) async fn respond<T>(
    body: impl std::future::Future<Output = Result<T, crate::error::Error>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    body.await.map(tonic::Response::new).map_err(tonic::Status::from)
}

/// The keyset cursor of a list request's page token.
pub(crate) fn page_cursor(
    page: Option<&wework_proto::common::PageRequest>,
) -> Result<Option<crate::store::Cursor>, crate::error::Error> {
    Ok(wework_kit::pagination::request_cursor(page)?)
}

pub(crate) use wework_kit::pagination::next_page;
