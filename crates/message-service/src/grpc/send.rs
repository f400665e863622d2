//! Parsing a `SendMessageRequest` into a [`SendDraft`]: every field checked
//! at once, named from the request root (`content.text.text`, or
//! `messages[3].priority` inside `SendMessages`). What needs the database or
//! another service (the template, the account) is resolved afterwards by
//! [`super::accept`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use wework_client::protocol::ChatType;
use wework_proto::message as pb;

use super::convert::{chat_type_from_proto, from_ts_opt};
use crate::domain::FieldError;
use crate::domain::content::{self, MessageBody};

pub const DEFAULT_PRIORITY: i16 = 5;
pub const MAX_PRIORITY: u32 = 10;
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_CONVERSATION_CHARS: usize = 100;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// How far ahead a send may be scheduled.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 30;

/// Where the content comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Content(MessageBody),
    /// Rendered once the template is loaded; names are checked then.
    Template {
        id: String,
        variables: HashMap<String, String>,
    },
}

/// A request whose every field is well-formed.
#[derive(Debug, Clone, PartialEq)]
pub struct SendDraft {
    pub account_id: String,
    pub conversation_id: String,
    pub chat_type: ChatType,
    pub source: Source,
    pub at_list: Vec<String>,
    /// 1..=10.
    pub priority: i16,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
}

/// `prefix` is the request's path from the root (`""`, `messages[3]`).
pub fn parse_send(r: &pb::SendMessageRequest, prefix: &str, now: DateTime<Utc>) -> Result<SendDraft, Vec<FieldError>> {
    let path = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    let mut errors = Vec::new();
    let account_id = r.account_id.trim().to_owned();
    if let Some(p) = id_problem(&account_id, MAX_ID_CHARS) {
        errors.push(FieldError::new(path("account_id"), p));
    }
    let conversation_id = r.conversation_id.trim().to_owned();
    if let Some(p) = id_problem(&conversation_id, MAX_CONVERSATION_CHARS) {
        errors.push(FieldError::new(path("conversation_id"), p));
    }
    let chat_type = chat_type_from_proto(r.chat_type, &path("chat_type")).map_err(|e| errors.push(e)).ok();
    let source = match source(r, &path) {
        Ok(s) => Some(s),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if let Some(t) = chat_type {
        errors.extend(content::check_at_list(&r.at_list, t, &path("at_list")));
    }
    let priority = match r.priority {
        0 => DEFAULT_PRIORITY,
        p @ 1..=MAX_PRIORITY => i16::try_from(p).unwrap_or(DEFAULT_PRIORITY),
        _ => {
            errors.push(FieldError::new(path("priority"), format!("must be 1 to {MAX_PRIORITY} (0: the default 5)")));
            DEFAULT_PRIORITY
        }
    };
    let scheduled_time = match from_ts_opt(r.scheduled_time.as_ref(), &path("scheduled_time")) {
        Ok(Some(t)) if t > now + Duration::days(MAX_SCHEDULE_AHEAD_DAYS) => {
            let message = format!("at most {MAX_SCHEDULE_AHEAD_DAYS} days ahead");
            errors.push(FieldError::new(path("scheduled_time"), message));
            None
        }
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let idempotency_key = (!r.idempotency_key.is_empty()).then(|| r.idempotency_key.clone());
    if let Some(p) = idempotency_key.as_deref().and_then(idempotency_key_problem) {
        errors.push(FieldError::new(path("idempotency_key"), p));
    }
    match (chat_type, source) {
        (Some(chat_type), Some(source)) if errors.is_empty() => Ok(SendDraft {
            account_id,
            conversation_id,
            chat_type,
            source,
            at_list: r.at_list.clone(),
            priority,
            scheduled_time,
            idempotency_key,
        }),
        _ => Err(errors),
    }
}

/// Content, or a template with its variables — exactly one.
fn source(r: &pb::SendMessageRequest, path: &dyn Fn(&str) -> String) -> Result<Source, Vec<FieldError>> {
    let template_id = r.template_id.trim();
    let has_content = r.content.as_ref().is_some_and(|c| c.kind.is_some());
    match (has_content, template_id.is_empty()) {
        (true, false) => {
            Err(vec![FieldError::new(path("template_id"), "give either content or template_id, not both")])
        }
        (true, true) if !r.variables.is_empty() => {
            Err(vec![FieldError::new(path("variables"), "only allowed with template_id")])
        }
        (true, true) => content::parse(r.content.as_ref(), &path("content")).map(Source::Content),
        (false, false) => match id_problem(template_id, MAX_ID_CHARS) {
            Some(p) => Err(vec![FieldError::new(path("template_id"), p)]),
            None => Ok(Source::Template { id: template_id.to_owned(), variables: r.variables.clone() }),
        },
        (false, true) => Err(content::parse(None, &path("content"))
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| FieldError { message: format!("{} (or template_id)", e.message), ..e })
            .collect()),
    }
}

/// Why an id-like field (already trimmed) is unusable, or `None`.
pub fn id_problem(value: &str, max: usize) -> Option<String> {
    if value.is_empty() {
        Some("required".to_owned())
    } else if value.chars().count() > max {
        Some(format!("at most {max} characters"))
    } else if value.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else {
        None
    }
}

/// Keys are compared byte for byte, so only printable ASCII is accepted:
/// two keys that look the same are the same.
fn idempotency_key_problem(key: &str) -> Option<String> {
    if key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Some(format!("at most {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "send_tests.rs"]
mod tests;
