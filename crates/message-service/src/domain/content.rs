//! Message content per type. A proto [`Content`] is parsed into a
//! [`MessageBody`], which exists only once every limit holds, so the store and
//! the dispatcher never re-check. Every broken field of a request is reported
//! at once (a caller fixing a form wants all of them), named as the proto
//! names it under the path of the content field: `content.text.text`,
//! `content.link.url`, `content.mini_program.app_id`.
//!
//! The body wraps the instance protocol's [`MessageContent`], so handing it to
//! the driver is a move, and it is stored as that type's JSON
//! (`{"msg_type":"text","text":"…"}`). Reading it back from the store does
//! not re-validate: limits may tighten later, and old rows must stay readable.

use serde::{Deserialize, Serialize};
use wework_client::protocol::{ChatType, MessageContent};
use wework_proto::message::Content;
use wework_proto::message::content::{self as pc, Kind};

use super::FieldError;

pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_FILE_NAME_CHARS: usize = 255;
pub const MAX_TITLE_CHARS: usize = 128;
pub const MAX_DESCRIPTION_CHARS: usize = 512;
pub const MAX_APP_ID_CHARS: usize = 64;
pub const MAX_PAGE_PATH_CHARS: usize = 256;
pub const MAX_VIDEO_SECS: u32 = 3600;
pub const MAX_USER_ID_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_ADDRESS_CHARS: usize = 512;
pub const MAX_IMAGE_BYTES: u64 = 20 << 20;
pub const MAX_FILE_BYTES: u64 = 100 << 20;
pub const MAX_AT_LIST: usize = 100;
pub const MAX_AT_ID_CHARS: usize = 64;
pub const MAX_SUMMARY_CHARS: usize = 200;

/// Content that passed every check of [`validate`]. A text is stored trimmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(MessageContent);

impl MessageBody {
    pub fn content(&self) -> &MessageContent {
        &self.0
    }

    pub fn into_content(self) -> MessageContent {
        self.0
    }
}

impl From<MessageBody> for MessageContent {
    fn from(body: MessageBody) -> Self {
        body.0
    }
}

/// Parses the content field named `field` (usually `content`) of a request.
pub fn parse(content: Option<&Content>, field: &str) -> Result<MessageBody, Vec<FieldError>> {
    match content.and_then(|c| c.kind.as_ref()) {
        Some(kind) => validate(from_proto(kind), field),
        None => Err(vec![FieldError::new(
            field,
            "required: one of text, image, file, link, mini_program, video, contact_card, location",
        )]),
    }
}

/// Checks content that did not come straight from a request (a rendered
/// template), with the same limits and names as [`parse`].
pub fn validate(mut content: MessageContent, field: &str) -> Result<MessageBody, Vec<FieldError>> {
    if let MessageContent::Text { text } = &mut content {
        let trimmed = text.trim();
        if trimmed.len() != text.len() {
            *text = trimmed.to_owned();
        }
    }
    let mut c = Checker { base: format!("{field}.{}", content.kind()), errors: Vec::new() };
    match &content {
        MessageContent::Text { text } => c.text("text", text, true, MAX_TEXT_CHARS),
        MessageContent::Image { url, file_size } => {
            c.url("url", url, true);
            c.size("file_size", *file_size, MAX_IMAGE_BYTES);
        }
        MessageContent::File { url, file_name, file_size } => {
            c.url("url", url, true);
            c.file_name(file_name);
            c.size("file_size", *file_size, MAX_FILE_BYTES);
        }
        MessageContent::Link { title, url, description, image_url } => {
            c.text("title", title, true, MAX_TITLE_CHARS);
            c.url("url", url, true);
            c.text("description", description, false, MAX_DESCRIPTION_CHARS);
            c.url("image_url", image_url, false);
        }
        MessageContent::MiniProgram { app_id, title, page_path, thumb_url } => {
            c.app_id(app_id);
            c.text("title", title, true, MAX_TITLE_CHARS);
            c.text("page_path", page_path, false, MAX_PAGE_PATH_CHARS);
            c.url("thumb_url", thumb_url, false);
        }
        MessageContent::Video { url, duration_secs, thumb_url } => {
            c.url("url", url, true);
            if *duration_secs > MAX_VIDEO_SECS {
                c.fail("duration_secs", format!("at most {MAX_VIDEO_SECS} seconds"));
            }
            c.url("thumb_url", thumb_url, false);
        }
        MessageContent::ContactCard { user_id, name } => {
            c.text("user_id", user_id, true, MAX_USER_ID_CHARS);
            c.text("name", name, false, MAX_NAME_CHARS);
        }
        MessageContent::Location { latitude, longitude, title, address } => {
            c.coordinate("latitude", *latitude, 90.0);
            c.coordinate("longitude", *longitude, 180.0);
            c.text("title", title, false, MAX_TITLE_CHARS);
            c.text("address", address, false, MAX_ADDRESS_CHARS);
        }
    }
    if c.errors.is_empty() { Ok(MessageBody(content)) } else { Err(c.errors) }
}

/// `@` mentions of a message (field `field`, usually `at_list`): group chats
/// only, at most [`MAX_AT_LIST`] members (or `all`).
pub fn check_at_list(at_list: &[String], chat_type: ChatType, field: &str) -> Vec<FieldError> {
    if at_list.is_empty() {
        return Vec::new();
    }
    if chat_type == ChatType::Private {
        return vec![FieldError::new(field, "only allowed in group chats")];
    }
    if at_list.len() > MAX_AT_LIST {
        return vec![FieldError::new(field, format!("at most {MAX_AT_LIST} entries"))];
    }
    let mut errors = Vec::new();
    for (i, id) in at_list.iter().enumerate() {
        if let Some(problem) = text_problem(id, true, MAX_AT_ID_CHARS) {
            errors.push(FieldError::new(format!("{field}[{i}]"), problem));
        }
    }
    errors
}

/// The stored `message_type` (the seed's names; `at` is not a content kind).
pub fn kind(body: &MessageBody) -> &'static str {
    match body.content() {
        MessageContent::Text { .. } => "text",
        MessageContent::Image { .. } => "image",
        MessageContent::File { .. } => "file",
        MessageContent::Link { .. } => "link",
        MessageContent::MiniProgram { .. } => "miniprogram",
        MessageContent::Video { .. } => "video",
        MessageContent::ContactCard { .. } => "card",
        MessageContent::Location { .. } => "location",
    }
}

/// One line of at most [`MAX_SUMMARY_CHARS`] for conversation previews.
pub fn summary(body: &MessageBody) -> String {
    let line = match body.content() {
        MessageContent::Text { text } => text.clone(),
        MessageContent::Image { .. } => "[image]".to_owned(),
        MessageContent::File { file_name, .. } => format!("[file] {file_name}"),
        MessageContent::Link { title, .. } => format!("[link] {title}"),
        MessageContent::MiniProgram { title, .. } => format!("[miniprogram] {title}"),
        MessageContent::Video { .. } => "[video]".to_owned(),
        MessageContent::ContactCard { user_id, name } => {
            format!("[card] {}", if name.trim().is_empty() { user_id } else { name })
        }
        MessageContent::Location { title, address, .. } => {
            format!("[location] {}", if title.trim().is_empty() { address } else { title })
        }
    };
    one_line(&line, MAX_SUMMARY_CHARS)
}

/// Why `url` is not an absolute `http(s)` url of at most [`MAX_URL_CHARS`],
/// or `None`. User info (`user@host`) is refused: it only serves to disguise
/// the real host in a message someone will click.
pub fn url_problem(url: &str) -> Option<&'static str> {
    if url.chars().count() > MAX_URL_CHARS {
        return Some("at most 2048 characters");
    }
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => rest,
        _ => return Some("must be an absolute http(s) url"),
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain spaces or control characters");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.starts_with(':')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if host_ok { None } else { Some("must name a host (no user info)") }
}

/// The proto oneof as the protocol's content, unchecked.
pub fn from_proto(kind: &Kind) -> MessageContent {
    match kind.clone() {
        Kind::Text(pc::Text { text }) => MessageContent::Text { text },
        Kind::Image(pc::Image { url, file_size }) => MessageContent::Image { url, file_size },
        Kind::File(pc::File { url, file_name, file_size }) => MessageContent::File { url, file_name, file_size },
        Kind::Link(pc::Link { title, url, description, image_url }) => {
            MessageContent::Link { title, url, description, image_url }
        }
        Kind::MiniProgram(pc::MiniProgram { app_id, title, page_path, thumb_url }) => {
            MessageContent::MiniProgram { app_id, title, page_path, thumb_url }
        }
        Kind::Video(pc::Video { url, duration_secs, thumb_url }) => {
            MessageContent::Video { url, duration_secs, thumb_url }
        }
        Kind::ContactCard(pc::ContactCard { user_id, name }) => MessageContent::ContactCard { user_id, name },
        Kind::Location(pc::Location { latitude, longitude, title, address }) => {
            MessageContent::Location { latitude, longitude, title, address }
        }
    }
}

/// The protocol's content as the proto, for responses.
pub fn to_proto(content: &MessageContent) -> Content {
    let kind = match content.clone() {
        MessageContent::Text { text } => Kind::Text(pc::Text { text }),
        MessageContent::Image { url, file_size } => Kind::Image(pc::Image { url, file_size }),
        MessageContent::File { url, file_name, file_size } => Kind::File(pc::File { url, file_name, file_size }),
        MessageContent::Link { title, url, description, image_url } => {
            Kind::Link(pc::Link { title, url, description, image_url })
        }
        MessageContent::MiniProgram { app_id, title, page_path, thumb_url } => {
            Kind::MiniProgram(pc::MiniProgram { app_id, title, page_path, thumb_url })
        }
        MessageContent::Video { url, duration_secs, thumb_url } => {
            Kind::Video(pc::Video { url, duration_secs, thumb_url })
        }
        MessageContent::ContactCard { user_id, name } => Kind::ContactCard(pc::ContactCard { user_id, name }),
        MessageContent::Location { latitude, longitude, title, address } => {
            Kind::Location(pc::Location { latitude, longitude, title, address })
        }
    };
    Content { kind: Some(kind) }
}

/// Collects the errors of one content, each under `<field>.<kind>.`.
struct Checker {
    base: String,
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(format!("{}.{name}", self.base), message));
    }

    fn text(&mut self, name: &str, value: &str, required: bool, max: usize) {
        if let Some(problem) = text_problem(value, required, max) {
            self.fail(name, problem);
        }
    }

    fn url(&mut self, name: &str, value: &str, required: bool) {
        if value.is_empty() && !required {
            return;
        }
        if value.trim().is_empty() {
            self.fail(name, "required");
        } else if let Some(problem) = url_problem(value) {
            self.fail(name, problem);
        }
    }

    fn size(&mut self, name: &str, bytes: u64, max: u64) {
        if bytes > max {
            self.fail(name, format!("at most {} MiB", max >> 20));
        }
    }

    /// A name the receiver's device saves the file under: no directories.
    fn file_name(&mut self, value: &str) {
        if let Some(problem) = text_problem(value, true, MAX_FILE_NAME_CHARS) {
            self.fail("file_name", problem);
        } else if value.contains(['/', '\\']) || value.chars().any(char::is_control) || matches!(value, "." | "..") {
            self.fail("file_name", "must be a plain file name (no path separators or control characters)");
        }
    }

    fn app_id(&mut self, value: &str) {
        let ok = (1..=MAX_APP_ID_CHARS).contains(&value.len())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.fail("app_id", format!("required: 1 to {MAX_APP_ID_CHARS} of A-Z, a-z, 0-9 and _"));
        }
    }

    fn coordinate(&mut self, name: &str, value: f64, max: f64) {
        if !value.is_finite() || value.abs() > max {
            self.fail(name, format!("must be a number from -{max} to {max}"));
        }
    }
}

fn text_problem(value: &str, required: bool, max: usize) -> Option<String> {
    if required && value.trim().is_empty() {
        Some("required".to_owned())
    } else if value.chars().count() > max {
        Some(format!("at most {max} characters"))
    } else if value.contains('\0') {
        Some("must not contain NUL characters".to_owned())
    } else {
        None
    }
}

/// Whitespace runs (newlines included) become one space; cut with `…`.
fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "content_tests.rs"]
mod tests;
