//! Parsed request fields ("parse, don't validate").
//!
//! Contract: a value of one of these types is valid by construction; the only
//! way in is a parser, which takes the field's full path (`task.priority`,
//! `tasks[3].tags`) so the error names the input a client sent. Strings are
//! trimmed of surrounding whitespace before checking. Zero values of numeric
//! proto fields mean "the default", as proto3 cannot tell unset from 0.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use wework_proto::task as pb;

use super::cron::MissedSlotPolicy;
use super::retry::{DEFAULT_RETRY_INTERVALS, RetrySchedule};
use super::{FieldError, path};

/// Largest request body a task may carry.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Furthest ahead a task may be scheduled.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 366;
/// Most entries in `retry_intervals`, and the highest `max_retries`.
pub const MAX_RETRIES: u32 = 20;
/// Longest single retry interval (7 days), in seconds.
pub const MAX_RETRY_INTERVAL_SECS: u32 = 7 * 24 * 3600;
/// Most extra headers on a task.
pub const MAX_HEADERS: usize = 32;
/// Longest header value we store.
pub const MAX_HEADER_VALUE_BYTES: usize = 4096;
/// Headers the delivery sets itself: signatures, framing, the content type.
pub const RESERVED_HEADERS: [&str; 12] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "content-type",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
];

/// Declares a string newtype with read access; construction stays in `parse`.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated value, for storing and comparing.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives up the wrapper, for moving the value into a row.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn len_between(field: &str, s: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(FieldError::new(field, format!("must be {min} to {max} characters long")));
    }
    Ok(())
}

/// Control characters forge log lines and break terminals and CSV exports.
fn no_control(field: &str, s: &str) -> Result<(), FieldError> {
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// A lowercase handle (`[a-z0-9_-]`), safe in keys, URLs and logs.
fn handle(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    len_between(field, s, min, max)?;
    if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')) {
        return Err(FieldError::new(field, "may contain only a-z, 0-9, '_' and '-'"));
    }
    Ok(s.to_owned())
}

/// A single-line display text of `min..=max` characters.
fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    len_between(field, s, min, max)?;
    no_control(field, s)?;
    Ok(s.to_owned())
}

string_newtype!(
    /// The caller's idempotency key for a task, unique per business system.
    /// 191 characters is the longest a utf8mb4 column can be and still index.
    BusinessUniqueId
);

impl BusinessUniqueId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        text(field, raw, 1, 191).map(Self)
    }

    /// The key of a schedule's run for `slot`, so that replicas racing for one
    /// slot create one task.
    pub fn for_slot(schedule_id: &str, slot: DateTime<Utc>) -> Self {
        Self(format!("{schedule_id}:{}", slot.format("%Y-%m-%dT%H:%M:%SZ")))
    }

    /// Stands in for the key of a schedule's template, which `for_slot`
    /// replaces on every run.
    pub(crate) fn template() -> Self {
        Self("template".to_owned())
    }
}

string_newtype!(
    /// A business system's code, chosen at registration and unique.
    BusinessCode
);

impl BusinessCode {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        handle(field, raw, 2, 64).map(Self)
    }
}

string_newtype!(
    /// A name shown to people: a business system's or a schedule's.
    DisplayName
);

impl DisplayName {
    /// Parses a name of 1..=128 characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        text(field, raw, 1, 128).map(Self)
    }
}

string_newtype!(
    /// Free text of at most 1024 characters; may be empty. Line breaks and
    /// tabs are allowed, other control characters are not.
    Description
);

impl Description {
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        len_between(field, s, 0, Self::MAX_CHARS)?;
        if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(FieldError::new(field, "must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }
}

string_newtype!(
    /// An endpoint's name, unique per owner; the owner's main webhook is `default`.
    EndpointName
);

impl EndpointName {
    pub const DEFAULT: &'static str = "default";

    /// Parses a name (`[a-z0-9_-]`, 1..=64); empty means `default`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Ok(Self(Self::DEFAULT.to_owned()));
        }
        handle(field, raw, 1, 64).map(Self)
    }
}

/// A task tag: 1..=64 of `A-Z a-z 0-9 _ . : -`, so tags can be filtered on
/// without escaping.
pub fn parse_tag(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    len_between(field, s, 1, 64)?;
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')) {
        return Err(FieldError::new(field, "may contain only letters, digits, '_', '.', ':' and '-'"));
    }
    Ok(s.to_owned())
}

/// A task's tags: at most 16, duplicates dropped, order kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    pub const MAX: usize = 16;

    pub fn parse(field: &str, raw: &[String]) -> Result<Self, FieldError> {
        if raw.len() > Self::MAX {
            return Err(FieldError::new(field, format!("at most {} tags", Self::MAX)));
        }
        let mut tags = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = parse_tag(field, tag)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// A callback URL: absolute http(s) with a host, no credentials (they would
/// be stored and logged in clear), no fragment (never sent), at most
/// [`ValidUrl::MAX_BYTES`]. Whether the host is public is the delivering
/// client's check, at send time, as DNS can change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidUrl(Url);

impl ValidUrl {
    pub const MAX_BYTES: usize = 2048;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        // The URL parser would silently drop tabs and newlines inside the URL.
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(FieldError::new(field, "must not contain spaces or control characters"));
        }
        let too_long = || FieldError::new(field, format!("must be at most {} bytes", Self::MAX_BYTES));
        if s.len() > Self::MAX_BYTES {
            return Err(too_long());
        }
        let mut url = Url::parse(s).map_err(|e| FieldError::new(field, format!("is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FieldError::new(field, "must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FieldError::new(field, "must have a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(field, "must not contain credentials"));
        }
        url.set_fragment(None);
        // Normalising (percent-encoding, IDNA) can make it longer.
        if url.as_str().len() > Self::MAX_BYTES {
            return Err(too_long());
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host, lowercase (IDNA-encoded), for per-host limits and SSRF checks.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    pub fn into_inner(self) -> String {
        self.0.into()
    }
}

impl fmt::Display for ValidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task's priority, 1 (lowest) ..= 10 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    pub const DEFAULT: Self = Self(5);

    /// Parses 1..=10; 0 (unset) is the default, 5.
    pub fn parse(field: &str, raw: u32) -> Result<Self, FieldError> {
        match raw {
            0 => Ok(Self::DEFAULT),
            1..=10 => Ok(Self(raw as u8)),
            _ => Err(FieldError::new(field, "must be between 1 and 10")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// How long one attempt may take: the connect, the request and the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeoutMs(u32);

impl TimeoutMs {
    pub const DEFAULT: Self = Self(15_000);

    /// Parses 100..=60000 ms; 0 (unset) is the default, 15 s.
    pub fn parse(field: &str, raw: u32) -> Result<Self, FieldError> {
        match raw {
            0 => Ok(Self::DEFAULT),
            100..=60_000 => Ok(Self(raw)),
            _ => Err(FieldError::new(field, "must be between 100 and 60000 milliseconds")),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_millis(u64::from(self.0))
    }
}

/// A business system's delivery rate, per second across all replicas;
/// 0 = unlimited. Capped so that a typo cannot mean "unlimited" by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RateLimit(u32);

impl RateLimit {
    pub const MAX: u32 = 100_000;

    pub fn parse(field: &str, raw: u32) -> Result<Self, FieldError> {
        if raw > Self::MAX {
            return Err(FieldError::new(field, format!("must be at most {}", Self::MAX)));
        }
        Ok(Self(raw))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// An id (UUID) in the canonical lowercase hyphenated form the store uses.
pub fn parse_uuid(field: &str, raw: &str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| FieldError::new(field, "must be a UUID"))
}

/// A proto timestamp as chrono, refusing values outside chrono's range.
pub fn parse_timestamp(field: &str, ts: &prost_types::Timestamp) -> Result<DateTime<Utc>, FieldError> {
    u32::try_from(ts.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| FieldError::new(field, "is not a valid timestamp"))
}

/// Longest overlap during which a rotated signing secret keeps signing.
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// A secret rotation's overlap: 0 (unset) is 24 h, at most 7 days.
pub fn parse_overlap(field: &str, seconds: u32) -> Result<Duration, FieldError> {
    match u64::from(seconds) {
        0 => Ok(Duration::from_secs(24 * 3600)),
        s if s <= MAX_OVERLAP.as_secs() => Ok(Duration::from_secs(s)),
        _ => Err(FieldError::new(field, "must be at most 604800 seconds (7 days)")),
    }
}

/// Extra headers: valid HTTP names (stored lowercase) and values, none that
/// the delivery sets itself, at most [`MAX_HEADERS`].
pub fn parse_headers(field: &str, raw: &HashMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    if raw.len() > MAX_HEADERS {
        return Err(FieldError::new(field, format!("at most {MAX_HEADERS} headers")));
    }
    let mut headers = BTreeMap::new();
    for (name, value) in raw {
        let parsed = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| FieldError::new(field, format!("{name:?} is not a valid header name")))?;
        let lower = parsed.as_str();
        if RESERVED_HEADERS.contains(&lower) || lower.starts_with("webhook-") {
            return Err(FieldError::new(field, format!("{lower} is set by the task center")));
        }
        if value.len() > MAX_HEADER_VALUE_BYTES || http::HeaderValue::from_str(value).is_err() {
            return Err(FieldError::new(field, format!("the value of {lower} is not a valid header value")));
        }
        if headers.insert(lower.to_owned(), value.clone()).is_some() {
            return Err(FieldError::new(field, format!("{lower} is given twice")));
        }
    }
    Ok(headers)
}

/// A media type (`type/subtype`, parameters allowed), at most 128 bytes;
/// empty is `application/json`.
pub fn parse_content_type(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok("application/json".to_owned());
    }
    let essence = s.split(';').next().unwrap_or_default().trim();
    let shaped = essence.split_once('/').is_some_and(|(t, st)| !t.is_empty() && !st.is_empty() && !st.contains('/'));
    if s.len() > 128 || !shaped || http::HeaderValue::from_str(s).is_err() {
        return Err(FieldError::new(field, "must be a media type such as application/json, at most 128 bytes"));
    }
    Ok(s.to_owned())
}

/// When the first attempt is due: empty is now; at most a year ahead.
pub fn parse_scheduled_at(
    field: &str,
    raw: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldError> {
    let Some(ts) = raw else { return Ok(now) };
    let at = parse_timestamp(field, ts)?;
    if at > now + chrono::Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
        return Err(FieldError::new(field, format!("must be within {MAX_SCHEDULE_AHEAD_DAYS} days from now")));
    }
    Ok(at)
}

/// `retry_intervals` (≤ 20 entries of ≤ 7 days; empty is the default
/// schedule) and `max_retries` (≤ 20; unset is the number of intervals).
pub fn parse_retry(prefix: &str, intervals: &[u32], max_retries: Option<u32>) -> Result<RetrySchedule, FieldError> {
    let field = path(prefix, "retry_intervals");
    if intervals.len() > MAX_RETRIES as usize {
        return Err(FieldError::new(field, format!("at most {MAX_RETRIES} intervals")));
    }
    if intervals.iter().any(|&s| s > MAX_RETRY_INTERVAL_SECS) {
        return Err(FieldError::new(field, format!("each interval must be at most {MAX_RETRY_INTERVAL_SECS} seconds")));
    }
    let count = if intervals.is_empty() { DEFAULT_RETRY_INTERVALS.len() } else { intervals.len() };
    let max_retries = max_retries.unwrap_or(count as u32);
    if max_retries > MAX_RETRIES {
        return Err(FieldError::new(path(prefix, "max_retries"), format!("must be at most {MAX_RETRIES}")));
    }
    Ok(RetrySchedule::new(intervals.to_vec(), max_retries))
}

/// The request method of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
    Get,
    Delete,
}

impl HttpMethod {
    /// Reads the proto enum; unspecified is POST.
    pub fn from_proto(field: &str, raw: i32) -> Result<Self, FieldError> {
        match pb::HttpMethod::try_from(raw) {
            Ok(pb::HttpMethod::Unspecified | pb::HttpMethod::Post) => Ok(Self::Post),
            Ok(pb::HttpMethod::Put) => Ok(Self::Put),
            Ok(pb::HttpMethod::Patch) => Ok(Self::Patch),
            Ok(pb::HttpMethod::Get) => Ok(Self::Get),
            Ok(pb::HttpMethod::Delete) => Ok(Self::Delete),
            Err(_) => Err(FieldError::new(field, "is not a known method")),
        }
    }

    pub fn to_proto(self) -> pb::HttpMethod {
        match self {
            Self::Post => pb::HttpMethod::Post,
            Self::Put => pb::HttpMethod::Put,
            Self::Patch => pb::HttpMethod::Patch,
            Self::Get => pb::HttpMethod::Get,
            Self::Delete => pb::HttpMethod::Delete,
        }
    }

    /// The stored (and sent) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Get => "GET",
            Self::Delete => "DELETE",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Post, Self::Put, Self::Patch, Self::Get, Self::Delete].into_iter().find(|m| m.as_str() == s)
    }
}

/// Whether a business system may authenticate and create tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BusinessStatus {
    Active,
    Disabled,
}

impl BusinessStatus {
    /// Reads the proto enum; unspecified is `None` (keep / not filtered).
    pub fn from_proto(field: &str, raw: i32) -> Result<Option<Self>, FieldError> {
        match pb::BusinessStatus::try_from(raw) {
            Ok(pb::BusinessStatus::Unspecified) => Ok(None),
            Ok(pb::BusinessStatus::Active) => Ok(Some(Self::Active)),
            Ok(pb::BusinessStatus::Disabled) => Ok(Some(Self::Disabled)),
            Err(_) => Err(FieldError::new(field, "is not a known status")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Active, Self::Disabled].into_iter().find(|v| v.as_str() == s)
    }
}

/// Reads the proto enum; unspecified is `None` (the default, or unchanged).
pub fn missed_slot_policy(field: &str, raw: i32) -> Result<Option<MissedSlotPolicy>, FieldError> {
    match pb::MissedSlotPolicy::try_from(raw) {
        Ok(pb::MissedSlotPolicy::Unspecified) => Ok(None),
        Ok(pb::MissedSlotPolicy::RunOnce) => Ok(Some(MissedSlotPolicy::RunOnce)),
        Ok(pb::MissedSlotPolicy::Skip) => Ok(Some(MissedSlotPolicy::Skip)),
        Err(_) => Err(FieldError::new(field, "is not a known policy")),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
