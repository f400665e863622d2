//! The dedup key of a received callback: equal for a re-sent copy of one
//! event, different for distinct events. `callback_events.dedup_key` is
//! UNIQUE, so inserting a copy fails and the copy is answered 200 without
//! being processed again.
//!
//! Instance callbacks (`i:`):
//! - a new message (11010) carries WeWork's global id: `i:<guid>:11010:<msg_id>`;
//! - a send result (19001) is keyed by our client message id *and* its
//!   status, since sent, delivered and failed are distinct events of one
//!   message: `i:<guid>:19001:<client_msg_id>:<status>`;
//! - anything else that came with the instance's `x-wework-callback-id`
//!   (the same on every re-send of one callback): `i:<guid>:<notify_type>:cb:<id>`;
//! - anything else: `i:<guid>:<notify_type>:<sha256 of the canonical body>:<bucket>`.
//!
//! WeCom callbacks (`w:`): `w:<app>:<MsgId>` for messages, otherwise
//! `w:<app>:<sha256 of the decrypted XML>:<bucket>` (events carry no id; their
//! `CreateTime` is inside the hashed XML).
//!
//! The bucket is the receive time (unix seconds) divided by the window
//! (default 300 s), so an identical body is a duplicate only within one
//! window: two genuinely separate identical events (two heartbeats with
//! equal data) an hour apart are both kept. The price: a copy that straddles
//! a bucket edge gets a different key and is processed twice. Processing
//! must therefore tolerate a repeat of a hash-keyed event (they are status
//! reports, which are idempotent); id-keyed events never repeat.
//!
//! Ids are used verbatim only when they are short and contain no `:` or
//! control characters, so keys cannot be confused with one another; other
//! ids fall back to the body hash. Keys never exceed [`MAX_KEY_LEN`]: a
//! longer one (a long guid) is replaced by `<source>:sha256:<hash of it>`.

use std::fmt;
use std::num::NonZeroU64;

use serde_json::Value;
use sha2::{Digest, Sha256};
use wework_client::callback::{CallbackEnvelope, NotifyType};

use super::wecom_xml::XmlFields;

/// Width of `callback_events.dedup_key`.
pub const MAX_KEY_LEN: usize = 160;
/// Longest provider id used verbatim in a key.
const MAX_ID_LEN: usize = 64;

/// How long an identical body (without a provider id) counts as a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupWindow(NonZeroU64);

impl DedupWindow {
    pub const DEFAULT_SECS: u64 = 300;

    /// `None` for a zero-second window, which would make every body distinct.
    pub fn from_secs(secs: u64) -> Option<Self> {
        NonZeroU64::new(secs).map(Self)
    }

    pub fn secs(self) -> u64 {
        self.0.get()
    }

    /// The window a receive time (unix seconds) falls in.
    pub fn bucket(self, received_unix: i64) -> i64 {
        let secs = i64::try_from(self.secs()).unwrap_or(i64::MAX);
        received_unix.div_euclid(secs)
    }
}

impl Default for DedupWindow {
    fn default() -> Self {
        Self(NonZeroU64::MIN.saturating_add(Self::DEFAULT_SECS - 1))
    }
}

/// A callback's dedup key, at most [`MAX_KEY_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey(String);

impl DedupKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    fn bounded(source: &str, key: String) -> Self {
        if key.len() <= MAX_KEY_LEN {
            Self(key)
        } else {
            Self(format!("{source}:sha256:{}", sha256_hex(key.as_bytes())))
        }
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of an instance callback received at `received_unix`, with the
/// sender's stable callback id when it sent one.
pub fn instance_key(
    env: &CallbackEnvelope,
    callback_id: Option<&str>,
    received_unix: i64,
    window: DedupWindow,
) -> DedupKey {
    let (guid, code) = (&env.guid, env.notify_type);
    let id_key = match NotifyType::from_code(code) {
        Some(NotifyType::NewMessage) => plain_id(&env.data, "msg_id").map(|id| format!("i:{guid}:{code}:{id}")),
        Some(NotifyType::SendResult) => plain_id(&env.data, "client_msg_id")
            .zip(plain_id(&env.data, "status"))
            .map(|(id, status)| format!("i:{guid}:{code}:{id}:{status}")),
        _ => None,
    };
    let id_key = id_key
        .or_else(|| callback_id.map(str::trim).filter(|id| is_plain(id)).map(|id| format!("i:{guid}:{code}:cb:{id}")));
    let key = id_key.unwrap_or_else(|| {
        let mut body = String::new();
        canonical_json(&env.data, &mut body);
        format!("i:{guid}:{code}:{}:{}", sha256_hex(body.as_bytes()), window.bucket(received_unix))
    });
    DedupKey::bounded("i", key)
}

/// The key of a WeCom callback to app `app_id`, from its decrypted XML and
/// the fields read from it.
pub fn wecom_key(
    app_id: &str,
    fields: &XmlFields,
    decrypted_xml: &str,
    received_unix: i64,
    window: DedupWindow,
) -> DedupKey {
    let key = match fields.get("MsgId").map(str::trim).filter(|id| is_plain(id)) {
        Some(id) => format!("w:{app_id}:{id}"),
        None => format!("w:{app_id}:{}:{}", sha256_hex(decrypted_xml.as_bytes()), window.bucket(received_unix)),
    };
    DedupKey::bounded("w", key)
}

/// `data[field]` when it is a string (or number) usable verbatim in a key.
fn plain_id(data: &Value, field: &str) -> Option<String> {
    let id = match data.get(field)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    is_plain(&id).then_some(id)
}

fn is_plain(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(|c| c == ':' || c.is_control())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// JSON with object keys sorted at every level and no whitespace, so two
/// serialisations of one body (key order, spacing) hash the same whatever
/// `serde_json` features the build enabled.
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
#[path = "dedup_tests.rs"]
mod tests;
