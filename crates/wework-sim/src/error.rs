//! [`SimError`]: a refusal in the protocol's terms. API handlers turn it into
//! the [`Envelope`] error with the code's HTTP status; the in-process handle
//! returns it as is, so a test sees exactly what a driver would.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wework_client::protocol::{Envelope, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct SimError {
    pub code: ErrorCode,
    pub message: String,
    /// Set with [`ErrorCode::RateLimited`].
    pub retry_after_secs: Option<u64>,
}

impl SimError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn not_logged_in(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotLoggedIn, message)
    }

    pub fn unknown_client(guid: &str) -> Self {
        Self::new(ErrorCode::UnknownClient, format!("no client {guid}"))
    }

    pub fn restricted() -> Self {
        Self::new(ErrorCode::AccountRestricted, "the account is restricted")
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self { retry_after_secs: Some(retry_after_secs), ..Self::new(ErrorCode::RateLimited, "too many sends") }
    }
}

pub type SimResult<T> = Result<T, SimError>;

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = Envelope::<()>::error(self.code, self.message);
        body.retry_after_secs = self.retry_after_secs;
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
