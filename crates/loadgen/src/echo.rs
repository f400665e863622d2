//! The bare echo server: tonic with no layers, no middleware, no storage.
//!
//! Every benchmark runs it beside the service under test, in the same run on
//! the same machine, so a service's numbers are read as a ratio to this
//! ceiling rather than as absolute figures that drift with the machine.

use std::future::Future;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use wework_proto::bench::echo_service_server::{EchoService, EchoServiceServer};
use wework_proto::bench::{EchoRequest, EchoResponse};

/// Answers every request with its own message.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse { message: request.into_inner().message }))
    }
}

/// Serves the echo service on an already bound listener until `shutdown`
/// resolves. Taking a listener (not an address) lets tests bind port 0.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder().add_service(EchoServiceServer::new(Echo)).serve_with_incoming_shutdown(incoming, shutdown).await
}
