//! Rules of an account's directory (conversations, contacts, groups), free
//! of I/O:
//!
//! - a directory sync is claimed compare-and-set through `sync_status`
//!   ([`sync_claim`]); a `running` claim older than [`STALE_RUNNING_SECS`]
//!   is presumed dead (its process went away) and may be taken over;
//! - every sync stamps what it saw with its start time ([`sync_start`]),
//!   strictly after the previous sync's, so the sweep afterwards finds
//!   exactly the rows it did not see;
//! - a message becomes its conversation's activity ([`inbound_activity`]):
//!   name, kind, a text summary of at most [`MAX_SUMMARY_CHARS`] per content
//!   type, and the time it was sent;
//! - what an instance reports is clipped to the column sizes ([`clip`]), and
//!   request fields are parsed into valid values naming the proto field.

use chrono::{DateTime, Duration, DurationRound, Utc};
use wework_client::callback::NewMessageData;
use wework_client::protocol::{ChatType, MessageContent};

use super::FieldError;
use super::validate::MAX_TAG_LEN;

/// Items per instance list call (the protocol's maximum).
pub const SYNC_PAGE_LIMIT: u32 = 500;
/// Pages per list before a sync gives up: an instance whose cursor never
/// ends must not keep a sync running forever (5 M rows at 500 a page).
pub const SYNC_MAX_PAGES: usize = 10_000;
/// A `running` sync claimed longer ago than this is presumed dead.
pub const STALE_RUNNING_SECS: i64 = 600;
/// Length of `last_msg_content`.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// Length of names, aliases and corp names as stored.
pub const MAX_NAME_CHARS: usize = 200;
/// Length of WeWork ids (user, chat, room).
pub const MAX_WEWORK_ID_CHARS: usize = 100;

/// The spellings of `wework_accounts.sync_status`.
pub mod sync_status {
    pub const NEVER: &str = "never";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

/// The spellings of the directory rows' `status`.
pub mod row_status {
    pub const ACTIVE: &str = "active";
    /// A contact the instance no longer lists.
    pub const REMOVED: &str = "removed";
    /// A group the account is no longer in, or a member no longer in its group.
    pub const LEFT: &str = "left";
}

/// Private chat or group chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationKind {
    Private,
    Group,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Private, Self::Group].into_iter().find(|k| k.as_str() == s)
    }

    /// `CONVERSATION_TYPE_*` of the proto.
    pub fn to_proto(self) -> i32 {
        match self {
            Self::Private => 1,
            Self::Group => 2,
        }
    }

    pub fn from_proto(v: i32) -> Option<Self> {
        [Self::Private, Self::Group].into_iter().find(|k| k.to_proto() == v)
    }
}

impl From<ChatType> for ConversationKind {
    fn from(t: ChatType) -> Self {
        match t {
            ChatType::Private => Self::Private,
            ChatType::Group => Self::Group,
        }
    }
}

/// Same corp or customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactType {
    Internal,
    External,
}

impl ContactType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }

    /// What an instance reports; anything but `internal` is a customer.
    pub fn from_instance(s: &str) -> Self {
        if s.trim().eq_ignore_ascii_case("internal") { Self::Internal } else { Self::External }
    }

    /// `CONTACT_TYPE_*` of the proto.
    pub fn to_proto(self) -> i32 {
        match self {
            Self::Internal => 1,
            Self::External => 2,
        }
    }

    pub fn from_proto(v: i32) -> Option<Self> {
        [Self::Internal, Self::External].into_iter().find(|k| k.to_proto() == v)
    }
}

/// A member's role as stored; an unknown role reads as `member`.
pub fn member_role(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "owner" => "owner",
        "admin" => "admin",
        _ => "member",
    }
}

/// Whether a sync request may start one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncClaim {
    Start,
    /// Another sync is running (claimed at `since`, not stale yet).
    AlreadyRunning,
}

/// `since`: when the `running` status was written (the account's `updated_at`).
pub fn sync_claim(status: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> SyncClaim {
    if status == sync_status::RUNNING && now - since < Duration::seconds(STALE_RUNNING_SECS) {
        SyncClaim::AlreadyRunning
    } else {
        SyncClaim::Start
    }
}

/// The stamp of a sync starting `now`: milliseconds (exact on both backends)
/// and strictly after the previous sync's, even on a clock that stood still.
pub fn sync_start(now: DateTime<Utc>, previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let ms = |t: DateTime<Utc>| t.duration_trunc(Duration::milliseconds(1)).unwrap_or(t);
    let start = ms(now);
    match previous.map(ms) {
        Some(prev) if prev >= start => prev + Duration::milliseconds(1),
        _ => start,
    }
}

/// At most `max` characters, control characters (newlines) as spaces,
/// trimmed; a cut text ends in `…`.
pub fn clip(s: &str, max: usize) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let trimmed = cleaned.trim();
    if trimmed.chars().count() <= max {
        return trimmed.to_owned();
    }
    let mut out: String = trimmed.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// The conversation list's one-line text of a message.
pub fn summarize(content: &MessageContent) -> String {
    let labelled = |label: &str, detail: &str| {
        let detail = detail.trim();
        if detail.is_empty() { format!("[{label}]") } else { format!("[{label}] {detail}") }
    };
    let text = match content {
        MessageContent::Text { text } => text.clone(),
        MessageContent::Image { .. } => labelled("Image", ""),
        MessageContent::File { file_name, .. } => labelled("File", file_name),
        MessageContent::Link { title, .. } => labelled("Link", title),
        MessageContent::MiniProgram { title, .. } => labelled("Mini program", title),
        MessageContent::Video { .. } => labelled("Video", ""),
        MessageContent::ContactCard { name, .. } => labelled("Contact card", name),
        MessageContent::Location { title, address, .. } => {
            labelled("Location", if title.trim().is_empty() { address } else { title })
        }
    };
    clip(&text, MAX_SUMMARY_CHARS)
}

/// What one message does to its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub conversation_id: String,
    pub kind: ConversationKind,
    /// `None` keeps the stored name.
    pub name: Option<String>,
    pub summary: String,
    pub sent_at: DateTime<Utc>,
    /// Counted once per message id; `None` always counts.
    pub msg_id: Option<String>,
    pub unread_increment: i32,
}

/// An inbound message: one more unread. A private chat is named after its
/// sender unless the instance named it; a `sent_at` that is missing or
/// absurd reads as `received`.
pub fn inbound_activity(m: &NewMessageData, received: DateTime<Utc>) -> Activity {
    let kind = ConversationKind::from(m.chat_type);
    let name = match (m.chat_name.trim(), kind) {
        ("", ConversationKind::Private) => m.sender_name.as_str(),
        (chat, _) => chat,
    };
    let sent_at = DateTime::from_timestamp_millis(m.sent_at).filter(|t| t.timestamp() > 0).unwrap_or(received);
    Activity {
        conversation_id: clip(&m.chat_id, MAX_WEWORK_ID_CHARS),
        kind,
        name: Some(clip(name, MAX_NAME_CHARS)).filter(|n| !n.is_empty()),
        summary: summarize(&m.content),
        sent_at,
        msg_id: Some(clip(&m.msg_id, 64)).filter(|id| !id.is_empty()),
        unread_increment: 1,
    }
}

/// A WeWork id named in a request (`conversation_id`, `user_id`, `group_id`).
pub fn wework_id(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let len = v.chars().count();
    if len == 0 || len > MAX_WEWORK_ID_CHARS || v.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("must be 1 to {MAX_WEWORK_ID_CHARS} visible characters")));
    }
    Ok(v.to_owned())
}

/// A list's free-text filter (`text`): `None` when blank.
pub fn search_text(value: &str) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.chars().count() > 100 {
        return Err(FieldError::new("text", "must be at most 100 characters"));
    }
    Ok(Some(v.to_owned()).filter(|s| !s.is_empty()))
}

/// A list's tag filter (`tag`): `None` when blank.
pub fn tag_filter(value: &str) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.chars().count() > MAX_TAG_LEN || v.chars().any(char::is_control) {
        return Err(FieldError::new("tag", format!("must be at most {MAX_TAG_LEN} visible characters")));
    }
    Ok(Some(v.to_owned()).filter(|s| !s.is_empty()))
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
