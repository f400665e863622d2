//! The services behind the gateway and their methods, resolved once against
//! the platform's descriptor set. Calls carry raw protobuf bytes (the request
//! was built by reflection), the caller's token, the request id and the
//! trace context, with the remaining request deadline as the gRPC deadline.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::PathAndQuery;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use tonic::Status;
use tonic::metadata::{MetadataMap, MetadataValue};
use wework_kit::grpc_client::{RawCodec, ServiceChannel, intercepted, lazy_channel};

use crate::settings::Settings;

/// Which service owns a method, from its proto package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    User,
    Account,
    Message,
    Callback,
    Task,
}

impl Backend {
    fn of(full_service: &str) -> Option<Self> {
        let package = full_service.rsplit_once('.').map_or("", |(p, _)| p);
        match package {
            "wework.user.v1" => Some(Self::User),
            "wework.account.v1" => Some(Self::Account),
            "wework.message.v1" => Some(Self::Message),
            "wework.callback.v1" => Some(Self::Callback),
            "wework.task.v1" => Some(Self::Task),
            _ => None,
        }
    }
}

/// A unary method ready to be called with raw bytes.
#[derive(Debug, Clone)]
pub struct Method {
    pub backend: Backend,
    /// `/package.Service/Method`.
    pub path: PathAndQuery,
    /// `Service` without the package, for OpenAPI tags.
    pub service: String,
    pub name: String,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the embedded descriptor set does not decode: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    #[error("route RPC `{0}` is not a unary method of a platform service")]
    Unknown(String),
}

/// The platform's descriptor pool (every proto in the workspace).
pub fn platform_pool() -> Result<DescriptorPool, ResolveError> {
    Ok(DescriptorPool::decode(wework_proto::FILE_DESCRIPTOR_SET)?)
}

impl Method {
    /// Resolves `package.Service/Method`; a typo in the route table fails
    /// the gateway's start (and its tests), never a request.
    pub fn resolve(pool: &DescriptorPool, rpc: &str) -> Result<Self, ResolveError> {
        let unknown = || ResolveError::Unknown(rpc.to_owned());
        let (service_name, method_name) = rpc.split_once('/').ok_or_else(unknown)?;
        let service = pool.get_service_by_name(service_name).ok_or_else(unknown)?;
        let method = service.methods().find(|m| m.name() == method_name).ok_or_else(unknown)?;
        if method.is_client_streaming() || method.is_server_streaming() {
            return Err(unknown());
        }
        let backend = Backend::of(service.full_name()).ok_or_else(unknown)?;
        let path =
            PathAndQuery::try_from(format!("/{}/{}", service.full_name(), method.name())).map_err(|_| unknown())?;
        Ok(Self {
            backend,
            path,
            service: service.name().to_owned(),
            name: method.name().to_owned(),
            input: method.input(),
            output: method.output(),
        })
    }
}

/// Checks that a route's path parameters and body field exist on the
/// method's input, so a typo in the table fails at start, not per request.
pub fn check_route(route: &crate::routes::Route, method: &Method) -> Result<(), ResolveError> {
    let bad = || ResolveError::Unknown(format!("{} ({})", route.rpc, route.path));
    for name in crate::openapi::path_params(route.path) {
        let field = method.input.get_field_by_name(&name).ok_or_else(bad)?;
        if field.kind() != prost_reflect::Kind::String || field.is_list() {
            return Err(bad());
        }
    }
    if let crate::routes::Body::Field(name) = route.body {
        method.input.get_field_by_name(name).ok_or_else(bad)?;
    }
    Ok(())
}

/// What travels with every call besides the message.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// `Bearer …`: the caller's own token, or one minted for its API key;
    /// none on public routes.
    pub authorization: Option<String>,
    pub request_id: String,
    pub deadline: Duration,
}

/// One lazily connected channel per service.
#[derive(Clone)]
pub struct Backends {
    channels: Arc<[(Backend, ServiceChannel)]>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends").field("services", &self.channels.len()).finish()
    }
}

impl Backends {
    /// Must be called inside a Tokio runtime. Nothing connects until used.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let connect = Duration::from_millis(settings.gateway.connect_timeout_ms);
        // The per-call deadline (grpc-timeout) is the real bound; the channel's
        // own timeout only backs it up.
        let request = Duration::from_millis(settings.gateway.request_timeout_ms.saturating_add(1_000));
        let urls = [
            (Backend::User, &settings.auth.user_service_url),
            (Backend::Account, &settings.integrations.account_service_url),
            (Backend::Message, &settings.integrations.message_service_url),
            (Backend::Callback, &settings.integrations.callback_service_url),
            (Backend::Task, &settings.integrations.task_service_url),
        ];
        let mut channels = Vec::with_capacity(urls.len());
        for (backend, url) in urls {
            channels.push((backend, intercepted(lazy_channel(url, connect, request)?, None)));
        }
        Ok(Self { channels: channels.into() })
    }

    fn channel(&self, backend: Backend) -> Option<ServiceChannel> {
        self.channels.iter().find(|(b, _)| *b == backend).map(|(_, c)| c.clone())
    }

    /// Calls `method` with an encoded request; returns the encoded response.
    pub async fn call(&self, method: &Method, request: Bytes, cx: &CallContext) -> Result<Bytes, Status> {
        let channel = self.channel(method.backend).ok_or_else(|| Status::unavailable("service not configured"))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|_| Status::unavailable("service unavailable"))?;
        let mut req = tonic::Request::new(request);
        req.set_timeout(cx.deadline);
        set_metadata(req.metadata_mut(), cx)?;
        grpc.unary(req, method.path.clone(), RawCodec).await.map(tonic::Response::into_inner)
    }
}

fn set_metadata(md: &mut MetadataMap, cx: &CallContext) -> Result<(), Status> {
    if let Some(authorization) = &cx.authorization {
        let value = MetadataValue::try_from(authorization.as_str())
            .map_err(|_| Status::unauthenticated("the credentials are not a valid header value"))?;
        md.insert("authorization", value);
    }
    if let Ok(id) = MetadataValue::try_from(cx.request_id.as_str()) {
        md.insert(wework_kit::telemetry::REQUEST_ID_HEADER, id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_resolves_to_a_unary_method() {
        let pool = platform_pool().expect("descriptor set");
        for route in crate::routes::table() {
            let method = Method::resolve(&pool, route.rpc).unwrap_or_else(|e| panic!("{}: {e}", route.path));
            assert!(method.path.as_str().ends_with(&method.name));
            check_route(&route, &method).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn unknown_and_foreign_methods_are_refused() {
        let pool = platform_pool().expect("descriptor set");
        for rpc in ["wework.user.v1.AuthService/Nope", "nope", "wework.bench.v1.EchoService/Echo"] {
            assert!(Method::resolve(&pool, rpc).is_err(), "{rpc}");
        }
    }
}
