//! `loadgen http`: the same bounded load as `run`, as plain HTTP/1.1 requests
//! (the gateway's REST API, any `/healthz`) over pooled keep-alive
//! connections — one per worker in a closed loop, since HTTP/1.1 carries one
//! request at a time.
//!
//! The request is built once and cloned per send. A 2xx answer is a success;
//! anything else is an error keyed `HTTP <status>` with the start of its body
//! as the sample. Transport failures are keyed `connect`, `timeout` or
//! `transport`. Like gRPC targets, the URL must name this machine.

use std::sync::Once;
use std::time::Duration;

use prost::bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Request};

use crate::client::{ClientError, is_loopback_host, loopback_uri, split_pair};
use crate::load::{self, Failure, Plan, Requester};
use crate::report::{self, Report};

/// A slower answer counts as `timeout`, which keeps a run bounded when the target stalls.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to request: a loopback URL, a method, headers and an optional body.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// `http://127.0.0.1:8080/healthz`; must be a loopback address.
    pub url: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// `name: value` (or `name=value`) pairs.
    pub headers: Vec<String>,
    /// Sent as is; `application/json` (and then checked to be JSON) unless a
    /// `content-type` header says otherwise. `@path` reads it from a file.
    pub body: Option<String>,
}

/// Why an HTTP target cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HttpTargetError {
    #[error("url `{0}` must be a plain http:// URL (loadgen does not speak TLS)")]
    NotHttp(String),
    #[error("`{0}` is not an HTTP method")]
    BadMethod(String),
    #[error("header `{0}` must look like `name: value`")]
    BadHeader(String),
    #[error("--body {path}: {source}")]
    BodyFile { path: String, source: std::io::Error },
    #[error("the body is not JSON ({0}); set a content-type header to send something else")]
    BodyNotJson(serde_json::Error),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Target(#[from] ClientError),
}

impl HttpTarget {
    /// Checks the target and builds the request every worker sends.
    pub fn prepare(&self) -> Result<HttpCall, HttpTargetError> {
        let uri = loopback_uri(&self.url)?;
        if uri.scheme_str() != Some("http") {
            return Err(HttpTargetError::NotHttp(self.url.clone()));
        }
        let url = reqwest::Url::parse(&self.url).map_err(|_| HttpTargetError::NotHttp(self.url.clone()))?;
        // The request goes where reqwest's parser says; make sure it agrees with the check above.
        let loopback = url.host_str().is_some_and(is_loopback_host);
        if !loopback {
            return Err(ClientError::NotLoopback(self.url.clone()).into());
        }
        let method = Method::from_bytes(self.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpTargetError::BadMethod(self.method.clone()))?;
        let mut headers = parse_http_headers(&self.headers)?;
        let body = match &self.body {
            None => None,
            Some(body) => Some(match body.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|source| HttpTargetError::BodyFile { path: path.to_owned(), source })?,
                None => body.clone(),
            }),
        };
        if let Some(body) = &body
            && !headers.contains_key(CONTENT_TYPE)
        {
            serde_json::from_str::<serde::de::IgnoredAny>(body).map_err(HttpTargetError::BodyNotJson)?;
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(HttpCall { method, url, headers, body: body.map(Bytes::from) })
    }
}

/// A checked request, cheap to build again for every send.
#[derive(Debug, Clone)]
pub struct HttpCall {
    pub method: Method,
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl HttpCall {
    fn request(&self) -> Request {
        let mut request = Request::new(self.method.clone(), self.url.clone());
        *request.headers_mut() = self.headers.clone();
        *request.body_mut() = self.body.clone().map(Into::into);
        request
    }
}

/// Parses `name: value` (or `name=value`) pairs; a name may repeat.
pub fn parse_http_headers(pairs: &[String]) -> Result<HeaderMap, HttpTargetError> {
    let mut map = HeaderMap::new();
    for pair in pairs {
        let bad = || HttpTargetError::BadHeader(pair.clone());
        let (name, value) = split_pair(pair).ok_or_else(bad)?;
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(map)
}

/// A keep-alive HTTP/1.1 client that never follows redirects or proxies: a
/// 3xx is an answer to count, and loopback traffic must stay on loopback.
pub fn client(pool: usize) -> Result<Client, HttpTargetError> {
    install_crypto_provider();
    Ok(Client::builder()
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(pool.max(1))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .build()?)
}

/// reqwest is built without a bundled rustls provider and its client builder
/// panics without one, even for plain http; install ring once. An error means
/// another part of the process installed one first, which serves as well.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The load loop's HTTP request: a prepared [`HttpCall`] on a shared pool.
#[derive(Debug, Clone)]
pub struct HttpRequester {
    client: Client,
    call: HttpCall,
}

impl HttpRequester {
    pub fn new(client: Client, call: HttpCall) -> Self {
        Self { client, call }
    }
}

impl Requester for HttpRequester {
    async fn send(&mut self) -> Result<(), Failure> {
        let response = self.client.execute(self.call.request()).await.map_err(transport_failure)?;
        let status = response.status();
        // Read the whole body either way: the connection goes back to the pool only then.
        let body = response.bytes().await.map_err(transport_failure)?;
        if status.is_success() {
            Ok(())
        } else {
            let cut = &body[..body.len().min(4 * Failure::SAMPLE_CHARS)];
            Err(Failure::new(format!("HTTP {}", status.as_u16()), &String::from_utf8_lossy(cut)))
        }
    }
}

fn transport_failure(e: reqwest::Error) -> Failure {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    // reqwest's own message hides the cause (`error sending request`); show the chain.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::new(kind, &detail)
}

/// Runs a bounded HTTP load against `target` and summarises it. `pid`, when
/// given, is the target's process, whose memory is read once the run ends.
pub async fn run_http_load(target: &HttpTarget, plan: Plan, pid: Option<u32>) -> anyhow::Result<Report> {
    crate::check_plan(plan)?;
    let call = target.prepare()?;
    let method = call.method.to_string();
    let requester = HttpRequester::new(client(plan.concurrency)?, call);
    let outcome = load::run(std::slice::from_ref(&requester), plan).await;
    // HTTP/1.1: at most one connection per worker (the pool opens them as needed).
    let mut report = Report::new(&target.url, &method, plan.concurrency, plan, &outcome);
    report.memory = pid.and_then(report::read_memory);
    Ok(report)
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
