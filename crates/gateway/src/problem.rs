//! Errors as RFC 9457 `application/problem+json`. A gRPC status maps to the
//! HTTP status of Google's mapping (`google/rpc/code.proto`), with the
//! details front ends act on: the bad fields of a `BadRequest`, the reason
//! of an `ErrorInfo`, and `Retry-After` from a `RetryInfo`. Internal errors
//! keep their text in the logs only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One bad field of a request, named as the front end sent it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `urn:problem:wework:<code>`, stable for programs to switch on.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The gRPC code name, e.g. `INVALID_ARGUMENT`.
    pub code: &'static str,
    /// `ErrorInfo.reason`, e.g. `TOTP_REQUIRED`, `NOT_CANCELLABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldViolation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        let (status, name, title) = describe(code);
        Self {
            kind: format!("urn:problem:wework:{}", name.to_ascii_lowercase().replace('_', "-")),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: name,
            reason: None,
            errors: Vec::new(),
            request_id: None,
            retry_after_secs: None,
        }
    }

    /// A request the gateway itself refuses before any service sees it.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        let mut p = Self::new(Code::InvalidArgument, format!("{field}: {description}"));
        p.errors.push(FieldViolation { field: field.to_owned(), description });
        p
    }

    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "missing or invalid credentials")
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut p = Self::new(Code::ResourceExhausted, "too many requests; retry later");
        p.reason = Some("RATE_LIMITED".to_owned());
        p.retry_after_secs = Some(retry_after_secs.max(1));
        p
    }

    /// Non-gRPC statuses the HTTP layer produces (404 route, 405, 413, 504).
    pub fn http(status: StatusCode, detail: impl Into<String>) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => Code::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => Code::OutOfRange,
            StatusCode::GATEWAY_TIMEOUT => Code::DeadlineExceeded,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::InvalidArgument,
            _ => Code::Unknown,
        };
        let mut p = Self::new(code, detail);
        p.status = status.as_u16();
        p.title = status.canonical_reason().unwrap_or("Error").to_owned();
        p
    }

    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_owned());
        self
    }

    /// From a service's answer. Internal texts never pass: they are logged.
    pub fn from_status(status: &tonic::Status) -> Self {
        let code = status.code();
        let detail = match code {
            Code::Internal | Code::Unknown | Code::DataLoss => {
                tracing::error!(code = ?code, message = status.message(), "service failed");
                "internal error".to_owned()
            }
            Code::Unavailable => {
                tracing::warn!(message = status.message(), "service unavailable");
                "service unavailable; retry later".to_owned()
            }
            Code::DeadlineExceeded => "the request took too long".to_owned(),
            Code::Cancelled if status.message().contains("Timeout expired") => "the request took too long".to_owned(),
            _ => status.message().to_owned(),
        };
        let code = if code == Code::Cancelled && detail.starts_with("the request took") {
            Code::DeadlineExceeded
        } else {
            code
        };
        let mut p = Self::new(code, detail);
        let details = status.get_error_details();
        if let Some(bad) = details.bad_request() {
            p.errors = bad
                .field_violations
                .iter()
                .map(|v| FieldViolation { field: v.field.clone(), description: v.description.clone() })
                .collect();
        }
        if let Some(info) = details.error_info() {
            p.reason = Some(info.reason.clone());
        }
        if let Some(retry) = details.retry_info().and_then(|r| r.retry_delay) {
            p.retry_after_secs = Some(retry.as_secs().max(1));
        }
        if code == Code::ResourceExhausted && p.retry_after_secs.is_none() {
            p.retry_after_secs = Some(1);
        }
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after_secs;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// HTTP status, code name and title of a gRPC code.
pub fn describe(code: Code) -> (StatusCode, &'static str, &'static str) {
    match code {
        Code::Ok => (StatusCode::OK, "OK", "OK"),
        Code::Cancelled => (StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST), "CANCELLED", "Cancelled"),
        Code::Unknown => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "Internal error"),
        Code::InvalidArgument => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid argument"),
        Code::DeadlineExceeded => (StatusCode::GATEWAY_TIMEOUT, "DEADLINE_EXCEEDED", "Timed out"),
        Code::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND", "Not found"),
        Code::AlreadyExists => (StatusCode::CONFLICT, "ALREADY_EXISTS", "Already exists"),
        Code::PermissionDenied => (StatusCode::FORBIDDEN, "PERMISSION_DENIED", "Permission denied"),
        Code::ResourceExhausted => (StatusCode::TOO_MANY_REQUESTS, "RESOURCE_EXHAUSTED", "Resource exhausted"),
        Code::FailedPrecondition => (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION", "Failed precondition"),
        Code::Aborted => (StatusCode::CONFLICT, "ABORTED", "Aborted"),
        Code::OutOfRange => (StatusCode::BAD_REQUEST, "OUT_OF_RANGE", "Out of range"),
        Code::Unimplemented => (StatusCode::NOT_IMPLEMENTED, "UNIMPLEMENTED", "Not implemented"),
        Code::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "Internal error"),
        Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "Service unavailable"),
        Code::DataLoss => (StatusCode::INTERNAL_SERVER_ERROR, "DATA_LOSS", "Internal error"),
        Code::Unauthenticated => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Unauthenticated"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation as GrpcViolation};

    #[test]
    fn bad_request_fields_and_reason_reach_the_client() {
        let mut details = ErrorDetails::with_bad_request(vec![GrpcViolation::new("name", "is required")]);
        details.set_error_info("TOTP_REQUIRED", "user", std::collections::HashMap::new());
        let status = tonic::Status::with_error_details(Code::InvalidArgument, "name: is required", details);
        let p = Problem::from_status(&status);
        assert_eq!((p.status, p.code), (400, "INVALID_ARGUMENT"));
        assert_eq!(p.errors, vec![FieldViolation { field: "name".into(), description: "is required".into() }]);
        assert_eq!(p.reason.as_deref(), Some("TOTP_REQUIRED"));
    }

    #[test]
    fn internal_texts_do_not_leak() {
        let p = Problem::from_status(&tonic::Status::internal("db error: table users at 10.0.0.3"));
        assert_eq!((p.status, p.detail.as_str()), (500, "internal error"));
        let p = Problem::from_status(&tonic::Status::unavailable("tcp connect error 10.0.0.3:50051"));
        assert_eq!((p.status, p.detail.as_str()), (503, "service unavailable; retry later"));
    }

    #[test]
    fn every_code_maps_to_an_http_error_status() {
        for code in (1..=16).map(Code::from_i32) {
            let (status, name, _) = describe(code);
            assert!(status.is_client_error() || status.is_server_error(), "{name}");
        }
    }

    #[test]
    fn resource_exhausted_always_says_when_to_retry() {
        let res = Problem::from_status(&tonic::Status::resource_exhausted("daily quota")).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        assert_eq!(res.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    }
}
