//! The driver's contract: what the platform asks of a WeWork protocol
//! instance, and how failures are classified so callers can decide between
//! retrying, backing off, waiting for a login, and giving up.

use std::time::Duration;

use async_trait::async_trait;

use crate::protocol::{
    ClientStatus, Contact, CreateClientRequest, CreateClientResponse, Group, GroupMember, InstanceHealth, ListRequest,
    Page, QrCode, RestoreResponse, SendMessageRequest, SendMessageResponse,
};

/// A failed call, classified. The message is the instance's or ours and
/// never holds the instance token or a proxy password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The request was refused as malformed or naming something unknown.
    /// Retrying the same request cannot help.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The instance does not know the guid (e.g. it was restarted and lost it).
    #[error("unknown client: {0}")]
    UnknownClient(String),
    /// The client is not logged in; log it in (or restore it) first.
    #[error("not logged in: {0}")]
    NotLoggedIn(String),
    /// Too many sends; wait at least `retry_after` before the next one.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// WeWork restricted the account; a human must act.
    #[error("account restricted: {0}")]
    AccountRestricted(String),
    /// The instance rejected our token: a configuration error.
    #[error("instance refused the token")]
    Unauthorized,
    /// The instance or the network failed; a retry may succeed. `timed_out`
    /// says the outcome is unknown (the instance may have acted).
    #[error("instance unavailable: {message}")]
    Unavailable { message: String, timed_out: bool },
}

impl ProviderError {
    /// Whether a later retry of the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::RateLimited { .. })
    }

    /// A short stable code for stored rows and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnknownClient(_) => "unknown_client",
            Self::NotLoggedIn(_) => "not_logged_in",
            Self::RateLimited { .. } => "rate_limited",
            Self::AccountRestricted(_) => "account_restricted",
            Self::Unauthorized => "unauthorized",
            Self::Unavailable { timed_out: true, .. } => "timeout",
            Self::Unavailable { .. } => "unavailable",
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// One WeWork protocol instance. Implementations retry idempotent calls
/// themselves (bounded, backed off); a send is retried only because the
/// instance de-duplicates on `client_msg_id`.
#[async_trait]
pub trait WeworkProvider: Send + Sync {
    async fn health(&self) -> ProviderResult<InstanceHealth>;
    async fn create_client(&self, req: &CreateClientRequest) -> ProviderResult<CreateClientResponse>;
    async fn get_qr_code(&self, guid: &str) -> ProviderResult<QrCode>;
    async fn submit_verify_code(&self, guid: &str, code: &str) -> ProviderResult<()>;
    async fn logout(&self, guid: &str) -> ProviderResult<()>;
    async fn restore(&self, guid: &str) -> ProviderResult<RestoreResponse>;
    async fn set_notify_url(&self, guid: &str, url: &str) -> ProviderResult<()>;
    async fn status(&self, guid: &str) -> ProviderResult<ClientStatus>;
    async fn send_message(&self, req: &SendMessageRequest) -> ProviderResult<SendMessageResponse>;
    async fn list_contacts(&self, req: &ListRequest) -> ProviderResult<Page<Contact>>;
    async fn list_groups(&self, req: &ListRequest) -> ProviderResult<Page<Group>>;
    async fn list_group_members(&self, req: &ListRequest) -> ProviderResult<Page<GroupMember>>;
}
