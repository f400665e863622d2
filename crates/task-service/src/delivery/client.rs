//! The guarded outbound HTTP client that performs one delivery attempt.
//!
//! Contract: [`Deliverer::deliver`] never panics and never retries; it returns an
//! [`AttemptReport`] for every attempt, success or not. Requests go only to addresses the
//! [`AddressPolicy`] allows (checked on IP literals before sending and on every DNS answer),
//! never through a proxy, never follow redirects (a 3xx is reported as is), sign with Standard
//! Webhooks headers, and are bounded by one total timeout (connect + send + body) and a cap on
//! how much of the response is read. Error messages are safe to store and show to tenants: they
//! carry neither the URL (which may hold credentials) nor signing secrets.

use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use ipnet::IpNet;
use reqwest::{Client, Response, Url, redirect};
use serde::{Deserialize, Serialize};
use wework_kit::clock::SharedClock;
use wework_kit::settings::Problems;

use super::signature::{SigningSecret, sign};
use super::ssrf::{AddressPolicy, GuardedResolver, Refusal};

const MAX_REPORTED_HEADERS: usize = 32;
const MAX_HEADER_VALUE_BYTES: usize = 1024;
/// Headers that decide framing or routing; a tenant setting them could desynchronise the connection.
const RESERVED_HEADERS: &[&str] =
    &["host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade"];

/// How the outbound client behaves; a section of the service settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliverySettings {
    pub user_agent: String,
    pub connect_timeout_ms: u64,
    /// How much of a response body is read and kept; the rest is not downloaded.
    pub max_response_bytes: usize,
    /// CIDRs (e.g. `10.1.0.0/16`) reachable although private: receivers inside the operator's network.
    pub allow_subnets: Vec<String>,
    /// Lets callbacks reach 127.0.0.0/8 and ::1, for the all-in-one dev profile only.
    pub allow_loopback: bool,
    pub pool_idle_per_host: usize,
    /// 4xx statuses that the retry policy treats as transient (e.g. 409, 425).
    pub retry_statuses: Vec<u16>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            user_agent: format!("WeWorkTaskCenter/{} (+webhook)", env!("CARGO_PKG_VERSION")),
            connect_timeout_ms: 5_000,
            max_response_bytes: 16 * 1024,
            allow_subnets: Vec::new(),
            allow_loopback: false,
            pool_idle_per_host: 256,
            retry_statuses: Vec::new(),
        }
    }
}

impl DeliverySettings {
    pub fn validate(&self, p: &mut Problems) {
        p.check(HeaderValue::from_str(&self.user_agent).is_ok(), "delivery.user_agent must be a valid header value");
        p.check(
            (1..=60_000).contains(&self.connect_timeout_ms),
            "delivery.connect_timeout_ms must be within 1..=60000",
        );
        p.check(
            (1..=1024 * 1024).contains(&self.max_response_bytes),
            "delivery.max_response_bytes must be within 1..=1048576",
        );
        for subnet in &self.allow_subnets {
            p.check(subnet.parse::<IpNet>().is_ok(), format!("delivery.allow_subnets: {subnet:?} is not a CIDR"));
        }
        for status in &self.retry_statuses {
            p.check((400..=499).contains(status), format!("delivery.retry_statuses: {status} is not a 4xx status"));
        }
    }

    /// The SSRF policy these settings describe; fails on the first subnet that is not a CIDR.
    pub fn address_policy(&self) -> Result<AddressPolicy, String> {
        let allow = self
            .allow_subnets
            .iter()
            .map(|s| s.parse::<IpNet>().map_err(|_| format!("delivery.allow_subnets: {s:?} is not a CIDR")))
            .collect::<Result<_, _>>()?;
        Ok(AddressPolicy { allow, allow_loopback: self.allow_loopback })
    }
}

/// One HTTP callback to make.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub url: String,
    pub method: Method,
    /// Tenant headers; the signature and content-type headers set by the client win over them.
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Bytes,
    /// Total budget: connect, send and reading the response body.
    pub timeout: Duration,
    /// `webhook-id`: stable across retries so receivers can deduplicate.
    pub webhook_id: String,
    pub timestamp_secs: i64,
    /// Current secret first, then the previous one during a rotation; empty means unsigned.
    pub secrets: Vec<SigningSecret>,
    /// Sent as the `traceparent` header (unless the task sets its own), so a
    /// traced receiver continues the delivery's trace.
    pub traceparent: Option<String>,
}

/// What happened on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    /// Set whenever a response head arrived, even if reading its body then failed.
    pub status: Option<u16>,
    /// The first 32 response headers, values cut to 1 KiB.
    pub headers: Vec<(String, String)>,
    /// Lossy UTF-8 of at most `max_response_bytes` of the response body.
    pub body: String,
    pub truncated: bool,
    pub duration: Duration,
    pub error: Option<DeliveryError>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryErrorKind {
    Timeout,
    Connect,
    /// The SSRF policy refused the destination.
    Refused,
    InvalidRequest,
    Other,
}

impl DeliveryErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryErrorKind::Timeout => "timeout",
            DeliveryErrorKind::Connect => "connect",
            DeliveryErrorKind::Refused => "refused",
            DeliveryErrorKind::InvalidRequest => "invalid_request",
            DeliveryErrorKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub kind: DeliveryErrorKind,
    /// Safe to store and show: no URL, no secrets.
    pub message: String,
}

impl DeliveryError {
    fn new(kind: DeliveryErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// Why a [`Deliverer`] could not be built (bad settings); fatal at startup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// Makes delivery attempts; cheap to clone, share one per process (it owns the connection pool).
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: Client,
    policy: Arc<AddressPolicy>,
    max_response_bytes: usize,
    clock: SharedClock,
}

impl Deliverer {
    /// The clock turns an HTTP-date `Retry-After` into a delay.
    pub fn new(settings: &DeliverySettings, clock: SharedClock) -> Result<Self, SetupError> {
        install_crypto_provider();
        let policy = Arc::new(settings.address_policy().map_err(SetupError)?);
        let client = Client::builder()
            .user_agent(settings.user_agent.as_str())
            .redirect(redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .pool_max_idle_per_host(settings.pool_idle_per_host)
            .dns_resolver(GuardedResolver::new(Arc::clone(&policy)))
            .build()
            .map_err(|e| SetupError(format!("building the delivery HTTP client: {}", error_chain(&e))))?;
        Ok(Self { client, policy, max_response_bytes: settings.max_response_bytes, clock })
    }

    pub async fn deliver(&self, req: OutboundRequest) -> AttemptReport {
        let started = Instant::now();
        let budget = req.timeout;
        let deadline = tokio::time::Instant::now() + budget;
        let mut report = AttemptReport {
            status: None,
            headers: Vec::new(),
            body: String::new(),
            truncated: false,
            duration: Duration::ZERO,
            error: None,
            retry_after: None,
        };
        report.error = match self.prepare(req) {
            Err(e) => Some(e),
            Ok(request) => match tokio::time::timeout_at(deadline, self.client.execute(request)).await {
                Err(_) => Some(timed_out(budget)),
                Ok(Err(e)) => Some(classify(e)),
                Ok(Ok(response)) => self.read_response(response, budget, deadline, &mut report).await,
            },
        };
        report.duration = started.elapsed();
        report
    }

    fn prepare(&self, req: OutboundRequest) -> Result<reqwest::Request, DeliveryError> {
        use DeliveryErrorKind::InvalidRequest;
        let url = Url::parse(&req.url).map_err(|e| DeliveryError::new(InvalidRequest, format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DeliveryError::new(InvalidRequest, format!("unsupported URL scheme {:?}", url.scheme())));
        }
        self.policy.check_url_host(&url).map_err(|r| DeliveryError::new(DeliveryErrorKind::Refused, r.to_string()))?;

        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| DeliveryError::new(InvalidRequest, format!("invalid header name {name:?}")))?;
            if RESERVED_HEADERS.contains(&header.as_str()) || header.as_str().starts_with("proxy-") {
                return Err(DeliveryError::new(InvalidRequest, format!("header {header} may not be set")));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| DeliveryError::new(InvalidRequest, format!("invalid value for header {header}")))?;
            headers.append(header, value);
        }
        let own_traceparent = headers.contains_key("traceparent");
        let mut set = |name: &'static str, value: &str| -> Result<(), DeliveryError> {
            let value = HeaderValue::from_str(value)
                .map_err(|_| DeliveryError::new(InvalidRequest, format!("invalid value for header {name}")))?;
            headers.insert(HeaderName::from_static(name), value);
            Ok(())
        };
        if !req.content_type.is_empty() {
            set("content-type", &req.content_type)?;
        }
        if let Some(traceparent) = req.traceparent.as_deref().filter(|_| !own_traceparent) {
            set("traceparent", traceparent)?;
        }
        set("webhook-id", &req.webhook_id)?;
        set("webhook-timestamp", &req.timestamp_secs.to_string())?;
        if req.secrets.is_empty() {
            // An unsigned callback must not carry a signature the tenant typed in.
            headers.remove("webhook-signature");
        } else {
            let secrets: Vec<&SigningSecret> = req.secrets.iter().collect();
            set("webhook-signature", &sign(&secrets, &req.webhook_id, req.timestamp_secs, &req.body))?;
        }

        // A bodiless GET/HEAD/DELETE goes without `content-length: 0`; other methods always send one.
        let bodiless = req.body.is_empty() && matches!(req.method, Method::GET | Method::HEAD | Method::DELETE);
        let mut request = reqwest::Request::new(req.method, url);
        *request.headers_mut() = headers;
        if !bodiless {
            *request.body_mut() = Some(req.body.into());
        }
        Ok(request)
    }

    /// Records the response head, then reads the body up to the cap. Dropping the response
    /// early closes the connection instead of downloading the rest.
    async fn read_response(
        &self,
        mut response: Response,
        budget: Duration,
        deadline: tokio::time::Instant,
        report: &mut AttemptReport,
    ) -> Option<DeliveryError> {
        report.status = Some(response.status().as_u16());
        report.headers = response.headers().iter().take(MAX_REPORTED_HEADERS).map(|(n, v)| header_pair(n, v)).collect();
        report.retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));

        let mut body = Vec::new();
        let outcome = loop {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => break Some(timed_out(budget)),
                Ok(Err(e)) => break Some(classify(e)),
                Ok(Ok(None)) => break None,
                Ok(Ok(Some(chunk))) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > self.max_response_bytes {
                        body.truncate(self.max_response_bytes);
                        report.truncated = true;
                        break None;
                    }
                }
            }
        };
        report.body = String::from_utf8_lossy(&body).into_owned();
        outcome
    }
}

/// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); a past date means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn header_pair(name: &HeaderName, value: &HeaderValue) -> (String, String) {
    let bytes = value.as_bytes();
    let kept = &bytes[..bytes.len().min(MAX_HEADER_VALUE_BYTES)];
    (name.as_str().to_owned(), String::from_utf8_lossy(kept).into_owned())
}

fn timed_out(budget: Duration) -> DeliveryError {
    DeliveryError::new(DeliveryErrorKind::Timeout, format!("timed out after {} ms", budget.as_millis()))
}

fn classify(error: reqwest::Error) -> DeliveryError {
    let error = error.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return DeliveryError::new(DeliveryErrorKind::Refused, refusal.to_string());
        }
        source = err.source();
    }
    let kind = if error.is_timeout() {
        DeliveryErrorKind::Timeout
    } else if error.is_connect() {
        DeliveryErrorKind::Connect
    } else if error.is_builder() {
        DeliveryErrorKind::InvalidRequest
    } else {
        DeliveryErrorKind::Other
    };
    DeliveryError::new(kind, error_chain(&error))
}

/// `outer: inner: root cause`, skipping repeats, since reqwest's own text is too vague alone.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(error);
    while let Some(err) = source {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = err.source();
    }
    parts.join(": ")
}

/// reqwest is built without a bundled rustls provider; install ring once per process. An error
/// means some other part of the process already installed one, which serves as well.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
