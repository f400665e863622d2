//! The provider driver. A WeWork account is operated through a "protocol
//! instance": an external service hosting logged-in WeWork clients behind an
//! HTTP JSON API, each client named by a `guid`, reporting events by POSTing
//! signed `{guid, notify_type, data}` callbacks. `docs/instance-protocol.md`
//! specifies it; [`protocol`] and [`callback`] are its wire types,
//! [`WeworkProvider`] the contract the services program against, and
//! [`HttpProvider`] its implementation. `wework-sim` serves the same types.

pub mod callback;
pub mod http;
pub mod pool;
pub mod protocol;
pub mod provider;

pub use callback::{CallbackEnvelope, CallbackEvent, NotifyType};
pub use http::{HttpProvider, HttpProviderConfig};
pub use pool::ProviderPool;
pub use provider::{ProviderError, ProviderResult, WeworkProvider};
