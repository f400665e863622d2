//! The tonic trait implementations. Handlers authenticate the caller into a
//! [`context::Caller`], parse the request, call the store within the
//! caller's tenant, and map errors through [`crate::error::Error`]. No SQL
//! here.

mod apps;
pub mod context;
pub mod convert;
mod events;

use crate::state::AppState;

/// One value implements every service of this crate.
#[derive(Clone)]
pub struct Api {
    pub(crate) state: AppState,
}

impl Api {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Every service of this crate, served by `api`.
pub fn routes(api: Api) -> tonic::service::Routes {
    use wework_proto::callback::{
        callback_service_server::CallbackServiceServer, wecom_app_service_server::WecomAppServiceServer,
    };
    tonic::service::Routes::new(CallbackServiceServer::new(api.clone())).add_service(WecomAppServiceServer::new(api))
}

/// Runs a handler body and converts its error into a `Status`.
pub(crate) async fn respond<T>(
    body: impl std::future::Future<Output = Result<T, crate::error::Error>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    body.await.map(tonic::Response::new).map_err(tonic::Status::from)
}

/// Page size and keyset cursor of a list request.
pub(crate) fn page(
    page: Option<&wework_proto::common::PageRequest>,
) -> Result<(u64, Option<crate::store::Cursor>), crate::error::Error> {
    Ok((wework_kit::pagination::page_size(page)?, wework_kit::pagination::request_cursor(page)?))
}

/// A trimmed id-like request field: `None` when empty, an error when too
/// long or not printable.
pub(crate) fn optional_id(
    value: &str,
    field: &str,
    max: usize,
    errors: &mut Vec<crate::domain::FieldError>,
) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        errors.push(crate::domain::FieldError::new(field, format!("must be at most {max} printable characters")));
    }
    Some(value.to_owned())
}
