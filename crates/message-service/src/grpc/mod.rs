//! The tonic trait implementations. Handlers authenticate the caller into a
//! [`context::Caller`], parse the request into domain types, call the store
//! within the caller's tenant, and map errors through
//! [`crate::error::Error`]. No SQL here.

mod accept;
mod batch_convert;
mod batch_create;
mod batch_targets;
mod batches;
pub mod context;
pub mod convert;
mod delivery;
mod messages;
mod send;
mod statistics;
mod template_convert;
mod templates;

use crate::state::AppState;

/// One value implements every service of this crate; each trait lives in its
/// own module.
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
    use wework_proto::message::{
        message_service_server::MessageServiceServer, template_service_server::TemplateServiceServer,
    };
    tonic::service::Routes::new(MessageServiceServer::new(api.clone()))
        .add_service(TemplateServiceServer::new(api.clone()))
        .add_service(batches::service(api))
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
