//! Connections to the target and the single raw call every mode is built on.
//!
//! The load tool only ever talks to this machine: a target that is not a
//! loopback address is refused before anything is sent.

use std::net::IpAddr;
use std::time::Duration;

use prost::bytes::Bytes;
use tonic::client::Grpc;
use tonic::codegen::http::Uri;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use wework_kit::grpc_client::RawCodec;

use crate::load::{Failure, Requester};

/// Generous: a call slower than this is counted as DeadlineExceeded, which
/// keeps a run bounded even when the target stalls.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the target could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("target `{0}` is not a valid URI like http://127.0.0.1:50051")]
    BadTarget(String),
    #[error("target `{0}` is not a loopback address; loadgen only sends traffic to this machine")]
    NotLoopback(String),
    #[error("cannot connect to `{target}`: {source}")]
    Connect { target: String, source: tonic::transport::Error },
    #[error("header `{0}` must look like `key=value` (ASCII, lowercase key)")]
    BadHeader(String),
}

/// Checks that `target` names this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn loopback_uri(target: &str) -> Result<Uri, ClientError> {
    let uri: Uri = target.parse().map_err(|_| ClientError::BadTarget(target.to_owned()))?;
    let host = uri.host().ok_or_else(|| ClientError::BadTarget(target.to_owned()))?;
    if is_loopback_host(host) { Ok(uri) } else { Err(ClientError::NotLoopback(target.to_owned())) }
}

/// `localhost`, 127.0.0.0/8 or ::1 (bracketed or not).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Opens `count` separate HTTP/2 connections to a loopback target.
pub async fn connect(target: &str, count: usize) -> Result<Vec<Channel>, ClientError> {
    let uri = loopback_uri(target)?;
    let endpoint = Endpoint::from(uri).tcp_nodelay(true).connect_timeout(CONNECT_TIMEOUT).timeout(CALL_TIMEOUT);
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let channel =
            endpoint.connect().await.map_err(|source| ClientError::Connect { target: target.to_owned(), source })?;
        channels.push(channel);
    }
    Ok(channels)
}

/// Parses `key=value` (or `key: value`) pairs into request metadata.
pub fn parse_headers(pairs: &[String]) -> Result<MetadataMap, ClientError> {
    let mut map = MetadataMap::new();
    for pair in pairs {
        let bad = || ClientError::BadHeader(pair.clone());
        let (key, value) = split_pair(pair).ok_or_else(bad)?;
        let key: AsciiMetadataKey = key.to_ascii_lowercase().parse().map_err(|_| bad())?;
        let value: AsciiMetadataValue = value.parse().map_err(|_| bad())?;
        map.append(key, value);
    }
    Ok(map)
}

/// Splits `key=value` or `key: value` at the first separator, so values may
/// contain `=` or `:` (base64, URLs); neither may appear in a key. Trimmed.
pub(crate) fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let at = pair.find(['=', ':'])?;
    Some((pair[..at].trim(), pair[at + 1..].trim()))
}

/// A prepared call: the same encoded body and metadata on every request.
#[derive(Debug, Clone)]
pub struct RawCall {
    pub path: PathAndQuery,
    pub body: Bytes,
    pub metadata: MetadataMap,
}

impl RawCall {
    /// Sends the call once on `grpc` and returns the raw response message.
    pub async fn send(&self, grpc: &mut Grpc<Channel>) -> Result<Bytes, Status> {
        grpc.ready().await.map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
        let mut request = Request::new(self.body.clone());
        *request.metadata_mut() = self.metadata.clone();
        grpc.unary(request, self.path.clone(), RawCodec).await.map(tonic::Response::into_inner)
    }
}

/// The load loop's gRPC request: [`RawCall`] on one connection.
#[derive(Debug, Clone)]
pub struct GrpcRequester {
    grpc: Grpc<Channel>,
    call: RawCall,
}

impl GrpcRequester {
    pub fn new(channel: Channel, call: RawCall) -> Self {
        Self { grpc: Grpc::new(channel), call }
    }
}

impl Requester for GrpcRequester {
    async fn send(&mut self) -> Result<(), Failure> {
        match self.call.send(&mut self.grpc).await {
            Ok(_) => Ok(()),
            Err(status) => Err(Failure::new(format!("{:?}", status.code()), status.message())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        for ok in ["http://127.0.0.1:50051", "http://127.1.2.3:1", "http://localhost:50051", "http://[::1]:50051"] {
            assert!(loopback_uri(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1:50051", "http://example.com:80", "http://192.168.1.1", "http://[::2]:1"] {
            assert!(matches!(loopback_uri(bad), Err(ClientError::NotLoopback(_))), "{bad}");
        }
        assert!(matches!(loopback_uri("not a uri"), Err(ClientError::BadTarget(_))));
    }

    #[test]
    fn headers_parse_in_both_spellings() {
        let map = parse_headers(&["authorization=Bearer a:b==".into(), "X-Tenant: t1".into()]).expect("headers");
        assert_eq!(map.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer a:b=="));
        assert_eq!(map.get("x-tenant").and_then(|v| v.to_str().ok()), Some("t1"));
        assert!(parse_headers(&["novalue".into()]).is_err());
    }
}
