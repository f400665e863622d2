//! [`HttpProvider`]: the [`WeworkProvider`] over the instance's HTTP JSON
//! API. Every request has a timeout; idempotent calls (reads, logout,
//! restore, notify url, and sends — the instance de-duplicates on
//! `client_msg_id`) are retried on `Unavailable` with bounded, jittered
//! exponential backoff. Creating a client and submitting a verify code are
//! never retried: a repeat could create a second client or burn a code.
//! A call that fails after its retries is counted by path and error code
//! (`provider_errors_total`), whichever service made it.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{
    ClientStatus, Contact, CreateClientRequest, CreateClientResponse, Envelope, ErrorCode, Group, GroupMember,
    GuidRequest, InstanceHealth, ListRequest, Page, QrCode, RestoreResponse, SendMessageRequest, SendMessageResponse,
    SetNotifyUrlRequest, VerifyCodeRequest, paths,
};
use crate::provider::{ProviderError, ProviderResult, WeworkProvider};

/// Timeouts and retry bounds of an [`HttpProvider`].
#[derive(Debug, Clone)]
pub struct HttpProviderConfig {
    pub connect_timeout: Duration,
    /// Whole-request timeout, per attempt.
    pub request_timeout: Duration,
    /// Retries after the first attempt of an idempotent call.
    pub max_retries: u32,
    /// First backoff; doubles per retry, with ±50 % jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The W3C `traceparent` of the calling span, sent as a header so an
    /// instance's own traces join the request's (services pass
    /// `wework_kit::telemetry::current_traceparent`; the client stays
    /// free of the tracing stack).
    pub trace_context: Option<fn() -> Option<String>>,
}

impl Default for HttpProviderConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            max_retries: 2,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            trace_context: None,
        }
    }
}

/// Talks to one instance. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpProvider {
    base_url: String,
    token: String,
    http: reqwest::Client,
    config: HttpProviderConfig,
}

impl fmt::Debug for HttpProvider {
    // The token stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Idempotent,
    Never,
}

impl HttpProvider {
    /// `base_url` is the instance's api url (`http://host:port`); `token` the
    /// shared token it was registered with.
    pub fn new(base_url: &str, token: &str, config: HttpProviderConfig) -> ProviderResult<Self> {
        let http = Self::client(&config)?;
        Ok(Self::with_client(http, base_url, token, config))
    }

    /// Shares one connection pool across many instances.
    pub fn with_client(http: reqwest::Client, base_url: &str, token: &str, config: HttpProviderConfig) -> Self {
        Self { base_url: base_url.trim_end_matches('/').to_owned(), token: token.to_owned(), http, config }
    }

    /// A reqwest client with these timeouts (redirects off: an instance
    /// never redirects, and a redirect must not carry the token elsewhere).
    pub fn client(config: &HttpProviderConfig) -> ProviderResult<reqwest::Client> {
        install_crypto_provider();
        reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ProviderError::Unavailable { message: format!("http client: {e}"), timed_out: false })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One call, retried as `retry` allows. A call that finally fails counts
    /// in `provider_errors_total{path, code}` (every service that drives
    /// instances exports it the same way; `path` is one of [`paths`]).
    async fn call<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &'static str,
        body: Option<&B>,
        retry: Retry,
    ) -> ProviderResult<T> {
        let mut attempt = 0u32;
        loop {
            let result = self.once(path, body).await;
            match result {
                Err(ProviderError::Unavailable { .. })
                    if retry == Retry::Idempotent && attempt < self.config.max_retries =>
                {
                    let delay = self.backoff(attempt);
                    tracing::debug!(path, attempt, ?delay, "instance unavailable, retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => {
                    if let Err(e) = &other {
                        metrics::counter!("provider_errors_total", "path" => path, "code" => e.code()).increment(1);
                    }
                    return other;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.config.backoff_base.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.config.backoff_max);
        let jitter = rand::thread_rng().gen_range(0.5..1.5);
        capped.mul_f64(jitter).min(self.config.backoff_max)
    }

    async fn once<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: Option<&B>) -> ProviderResult<T> {
        let url = format!("{}{}", self.base_url, path);
        let mut request = match body {
            Some(body) => self.http.post(&url).json(body),
            None => self.http.get(&url),
        };
        if let Some(traceparent) = self.config.trace_context.and_then(|current| current()) {
            request = request.header("traceparent", traceparent);
        }
        let response = request.bearer_auth(&self.token).send().await.map_err(transport_error)?;
        let status = response.status();
        let header_retry = retry_after_header(&response);
        let bytes = response.bytes().await.map_err(transport_error)?;
        // The envelope first with `data` untyped: an error's `data`, or a unit
        // call's missing one, must not hide the code.
        match serde_json::from_slice::<Envelope<serde_json::Value>>(&bytes) {
            Ok(envelope) if envelope.code == 0 => {
                serde_json::from_value(envelope.data.unwrap_or(serde_json::Value::Null)).map_err(|_| {
                    ProviderError::Unavailable { message: format!("{path}: unreadable data"), timed_out: false }
                })
            }
            Ok(envelope) => Err(classify(
                ErrorCode::from_code(envelope.code),
                status.as_u16(),
                envelope.message,
                envelope.retry_after_secs.or(header_retry),
            )),
            Err(_) if status.is_success() => {
                Err(ProviderError::Unavailable { message: format!("{path}: unreadable response"), timed_out: false })
            }
            Err(_) => Err(classify(None, status.as_u16(), format!("{path}: http {status}"), header_retry)),
        }
    }
}

/// Maps the body's code (first) or the HTTP status to an error class.
fn classify(code: Option<ErrorCode>, status: u16, message: String, retry_after: Option<u64>) -> ProviderError {
    let code = code.or(match status {
        400 | 413 | 422 => Some(ErrorCode::InvalidRequest),
        401 => Some(ErrorCode::Unauthorized),
        403 => Some(ErrorCode::AccountRestricted),
        404 => Some(ErrorCode::UnknownClient),
        409 => Some(ErrorCode::NotLoggedIn),
        429 => Some(ErrorCode::RateLimited),
        _ => None,
    });
    match code {
        Some(ErrorCode::InvalidRequest) => ProviderError::InvalidRequest(message),
        Some(ErrorCode::Unauthorized) => ProviderError::Unauthorized,
        Some(ErrorCode::UnknownClient) => ProviderError::UnknownClient(message),
        Some(ErrorCode::NotLoggedIn) => ProviderError::NotLoggedIn(message),
        Some(ErrorCode::AccountRestricted) => ProviderError::AccountRestricted(message),
        Some(ErrorCode::RateLimited) => {
            ProviderError::RateLimited { retry_after: Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 3600)) }
        }
        Some(ErrorCode::Unavailable) | None => ProviderError::Unavailable { message, timed_out: false },
    }
}

fn retry_after_header(response: &reqwest::Response) -> Option<u64> {
    response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

fn transport_error(error: reqwest::Error) -> ProviderError {
    // reqwest's Display may include the url; ours has no credentials in it.
    let timed_out = error.is_timeout();
    let message = if timed_out {
        "request timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    };
    ProviderError::Unavailable { message, timed_out }
}

/// reqwest is built without a bundled rustls provider; install ring once.
/// An error means another part of the process installed one already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[derive(Serialize)]
struct Empty {}

fn guid(guid: &str) -> GuidRequest {
    GuidRequest { guid: guid.to_owned() }
}

#[async_trait]
impl WeworkProvider for HttpProvider {
    async fn health(&self) -> ProviderResult<InstanceHealth> {
        self.call::<Empty, _>(paths::HEALTH, None, Retry::Idempotent).await
    }

    async fn create_client(&self, req: &CreateClientRequest) -> ProviderResult<CreateClientResponse> {
        self.call(paths::CLIENT_CREATE, Some(req), Retry::Never).await
    }

    async fn get_qr_code(&self, g: &str) -> ProviderResult<QrCode> {
        self.call(paths::CLIENT_QRCODE, Some(&guid(g)), Retry::Idempotent).await
    }

    async fn submit_verify_code(&self, g: &str, code: &str) -> ProviderResult<()> {
        let req = VerifyCodeRequest { guid: g.to_owned(), code: code.to_owned() };
        self.call::<_, serde_json::Value>(paths::CLIENT_VERIFY, Some(&req), Retry::Never).await.map(drop)
    }

    async fn logout(&self, g: &str) -> ProviderResult<()> {
        self.call::<_, serde_json::Value>(paths::CLIENT_LOGOUT, Some(&guid(g)), Retry::Idempotent).await.map(drop)
    }

    async fn restore(&self, g: &str) -> ProviderResult<RestoreResponse> {
        self.call(paths::CLIENT_RESTORE, Some(&guid(g)), Retry::Idempotent).await
    }

    async fn set_notify_url(&self, g: &str, url: &str) -> ProviderResult<()> {
        let req = SetNotifyUrlRequest { guid: g.to_owned(), url: url.to_owned() };
        self.call::<_, serde_json::Value>(paths::CLIENT_NOTIFY_URL, Some(&req), Retry::Idempotent).await.map(drop)
    }

    async fn status(&self, g: &str) -> ProviderResult<ClientStatus> {
        self.call(paths::CLIENT_STATUS, Some(&guid(g)), Retry::Idempotent).await
    }

    async fn send_message(&self, req: &SendMessageRequest) -> ProviderResult<SendMessageResponse> {
        self.call(paths::MESSAGE_SEND, Some(req), Retry::Idempotent).await
    }

    async fn list_contacts(&self, req: &ListRequest) -> ProviderResult<Page<Contact>> {
        self.call(paths::CONTACT_LIST, Some(req), Retry::Idempotent).await
    }

    async fn list_groups(&self, req: &ListRequest) -> ProviderResult<Page<Group>> {
        self.call(paths::GROUP_LIST, Some(req), Retry::Idempotent).await
    }

    async fn list_group_members(&self, req: &ListRequest) -> ProviderResult<Page<GroupMember>> {
        self.call(paths::GROUP_MEMBERS, Some(req), Retry::Idempotent).await
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
