//! Outbound HTTP: the guarded client (SSRF, timeouts, caps, no redirects),
//! Standard Webhooks signatures, and how a response is judged.

pub mod client;
pub mod signature;
pub mod ssrf;

pub use client::{
    AttemptReport, Deliverer, DeliveryError, DeliveryErrorKind, DeliverySettings, OutboundRequest, SetupError,
    parse_retry_after,
};
pub use signature::{SecretError, SigningSecret, sign, verify};
pub use ssrf::{AddressPolicy, Category, GuardedResolver, Refusal};
