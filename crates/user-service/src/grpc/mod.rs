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
    let token = page.map(|p| p.page_token.as_str()).unwrap_or_default();
    let cursor: Option<wework_kit::pagination::TimeCursor> = wework_kit::pagination::decode_token(token)?;
    Ok(cursor.map(|c| crate::store::Cursor {
        created_at: chrono::DateTime::from_timestamp_micros(c.t).unwrap_or_default(),
        id: c.id,
    }))
}

pub(crate) fn next_page(next: Option<crate::store::Cursor>) -> wework_proto::common::PageResponse {
    let token = next.map(|c| {
        wework_kit::pagination::encode_token(&wework_kit::pagination::TimeCursor {
            t: c.created_at.timestamp_micros(),
            id: c.id,
        })
    });
    wework_kit::pagination::page_response(token)
}
