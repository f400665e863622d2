//! The small shared toolkit of the platform's services. No service logic
//! lives here: only the plumbing every service needs the same way.
//!
//! - [`settings`]: layered configuration (defaults → file → env).
//! - [`telemetry`]: tracing, request ids, OpenTelemetry export, trace-context propagation.
//! - [`db`]: sea-orm connections (writer + optional read replica) and migrations.
//! - [`cache`]: one cache trait; Redis, in-process, and L1-in-front-of-L2 stores.
//! - [`auth`]: principals from `authorization` metadata; user and service tokens.
//! - [`audit`]: recording audit rows in the user service, queued so a caller never waits.
//! - [`errors`]: `DbErr` classification and error → `tonic::Status` helpers.
//! - [`events`]: the tenant event envelope, publishing through the task center, live fan-out.
//! - [`server`]: the gRPC server bootstrap (health, reflection, limits, metrics, shutdown).
//! - [`grpc_client`]: channels to other services with timeouts and propagated context.
//! - [`crypto`]: hashing, random tokens, encryption of secrets at rest.
//! - [`pagination`]: cursor page tokens and page-size limits.
//! - [`clock`]: injectable time, so time-dependent rules are tested deterministically.
//! - [`shutdown`]: one signal that stops servers and workers.
//! - `testing` (feature): fresh databases and Redis prefixes for integration tests.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod crypto;
pub mod db;
pub mod errors;
pub mod events;
pub mod grpc_client;
pub mod healthcheck;
pub mod lease;
pub mod pagination;
pub mod ratelimit;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
