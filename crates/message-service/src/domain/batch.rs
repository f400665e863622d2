//! Batch sends: the status machine, the send strategy, what a batch sends
//! and to whom. Pure rules; the store, the handlers and the feeder apply
//! them ([`super::batch_progress`] has the counters and the ETA).
//!
//! Status machine (anything else is refused, naming the current status):
//! `created → running` (start), `running → paused` (pause, or the tenant's
//! daily quota is spent), `paused → running` (resume), `created | running |
//! paused → cancelled` (cancel), `running → completed` (the feeder, once
//! every receiver is expanded and fed and no message is pending or sending),
//! `created | running | paused → failed` (the targets cannot be expanded).
//! Completed, failed and cancelled are final.
//!
//! Strategy: a batch's `min_interval_secs`, `max_per_minute` and window are
//! combined with the account's throttle by the dispatcher, and the stricter
//! of the two applies: the longer interval, the lower per-minute cap, and a
//! send only when both windows are open ([`BatchStrategy::stricter`] merges
//! interval and cap; [`BatchStrategy::window`] is checked besides the
//! account's window).

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use wework_client::protocol::MessageContent;
use wework_proto::message as pb;

use super::FieldError;
use super::content::MessageBody;
use super::template::{self, TemplateContent, TemplateSpec};
use super::throttle::{SendWindow, ThrottlePolicy};

pub const MAX_INTERVAL_SECS: u32 = 3_600;
pub const MAX_PER_MINUTE: u32 = 600;
pub const MAX_OFFLINE_WAIT_SECS: u32 = 7 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    Created,
    Running,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

/// What a caller asks of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    Start,
    Pause,
    Resume,
    Cancel,
}

impl BatchStatus {
    pub const ALL: [Self; 6] =
        [Self::Created, Self::Running, Self::Paused, Self::Completed, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    pub fn to_proto(self) -> i32 {
        (match self {
            Self::Created => pb::BatchStatus::Created,
            Self::Running => pb::BatchStatus::Running,
            Self::Paused => pb::BatchStatus::Paused,
            Self::Completed => pb::BatchStatus::Completed,
            Self::Failed => pb::BatchStatus::Failed,
            Self::Cancelled => pb::BatchStatus::Cancelled,
        }) as i32
    }

    pub fn from_proto(v: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.to_proto() == v)
    }
}

impl BatchAction {
    fn verb(self) -> &'static str {
        match self {
            Self::Start => "started",
            Self::Pause => "paused",
            Self::Resume => "resumed",
            Self::Cancel => "cancelled",
        }
    }
}

/// The status `action` moves a batch in `from` to; `Err` is the caller's
/// message for an illegal move (it names the current status).
pub fn transition(from: BatchStatus, action: BatchAction) -> Result<BatchStatus, String> {
    use BatchAction as A;
    use BatchStatus as S;
    match (from, action) {
        (S::Created, A::Start) | (S::Paused, A::Resume) => Ok(S::Running),
        (S::Running, A::Pause) => Ok(S::Paused),
        (S::Created | S::Running | S::Paused, A::Cancel) => Ok(S::Cancelled),
        _ => Err(format!("the batch is {}: it cannot be {}", from.as_str(), action.verb())),
    }
}

/// How fast and when a batch sends, validated. Zero means "the account's".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchStrategy {
    pub min_interval_secs: u32,
    pub max_per_minute: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<StrategyWindow>,
    pub offline_wait_secs: u32,
}

/// Local `HH:MM` times (start inclusive, end exclusive; `end < start` wraps
/// midnight) in an IANA zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyWindow {
    pub start: String,
    pub end: String,
    pub time_zone: String,
}

impl BatchStrategy {
    /// Parses the request's strategy (field `field`, usually `strategy`);
    /// absent is all defaults.
    pub fn parse(s: Option<&pb::SendStrategy>, field: &str) -> Result<Self, Vec<FieldError>> {
        let Some(s) = s else { return Ok(Self::default()) };
        let mut errors = Vec::new();
        let mut fail = |name: &str, message: String| errors.push(FieldError::new(format!("{field}.{name}"), message));
        if s.min_interval_secs > MAX_INTERVAL_SECS {
            fail("min_interval_secs", format!("must be at most {MAX_INTERVAL_SECS}"));
        }
        if s.max_per_minute > MAX_PER_MINUTE {
            fail("max_per_minute", format!("must be at most {MAX_PER_MINUTE}"));
        }
        if s.offline_wait_secs > MAX_OFFLINE_WAIT_SECS {
            fail("offline_wait_secs", format!("must be at most {MAX_OFFLINE_WAIT_SECS} (7 days)"));
        }
        let (start, end, zone) = (s.window_start.trim(), s.window_end.trim(), s.time_zone.trim());
        let window = if start.is_empty() && end.is_empty() {
            if !zone.is_empty() {
                fail("time_zone", "only with window_start and window_end".to_owned());
            }
            None
        } else {
            let times = [("window_start", start), ("window_end", end)].map(|(name, v)| {
                let t = parse_hh_mm(v);
                if t.is_none() {
                    fail(name, "must be HH:MM (00:00 to 23:59)".to_owned());
                }
                t
            });
            if let [Some(a), Some(b)] = times
                && a == b
            {
                fail("window_end", "must differ from window_start (leave both empty for any time)".to_owned());
            }
            if zone.parse::<Tz>().is_err() {
                fail("time_zone", "must be an IANA time zone such as Asia/Shanghai".to_owned());
            }
            Some(StrategyWindow { start: start.to_owned(), end: end.to_owned(), time_zone: zone.to_owned() })
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            min_interval_secs: s.min_interval_secs,
            max_per_minute: s.max_per_minute,
            window,
            offline_wait_secs: s.offline_wait_secs,
        })
    }

    pub fn to_proto(&self) -> pb::SendStrategy {
        let w = self.window.clone().unwrap_or_default();
        pb::SendStrategy {
            min_interval_secs: self.min_interval_secs,
            max_per_minute: self.max_per_minute,
            window_start: w.start,
            window_end: w.end,
            time_zone: w.time_zone,
            offline_wait_secs: self.offline_wait_secs,
        }
    }

    /// The batch's own window (stored strategies were validated; a broken
    /// one reads as none).
    pub fn window(&self) -> Option<SendWindow> {
        let w = self.window.as_ref()?;
        Some(SendWindow { start: parse_hh_mm(&w.start)?, end: parse_hh_mm(&w.end)?, tz: w.time_zone.parse().ok()? })
    }

    /// The account's policy with this batch's interval and cap on top, the
    /// stricter of each; the account's window is kept (see the module doc).
    pub fn stricter(&self, account: &ThrottlePolicy) -> ThrottlePolicy {
        let mut policy = account.clone();
        policy.min_interval = policy.min_interval.max(Duration::seconds(i64::from(self.min_interval_secs)));
        if self.max_per_minute > 0 {
            policy.per_minute = policy.per_minute.min(self.max_per_minute);
        }
        if policy.window.is_none() {
            policy.window = self.window();
        }
        policy
    }
}

/// Exactly `HH:MM`, 00:00–23:59.
fn parse_hh_mm(s: &str) -> Option<NaiveTime> {
    (s.len() == 5 && s.as_bytes()[2] == b':' && s.bytes().filter(u8::is_ascii_digit).count() == 4)
        .then(|| NaiveTime::parse_from_str(s, "%H:%M").ok())
        .flatten()
}

/// What a batch sends, as stored in `message_content`: fixed content, or a
/// template's content and variables as they were when the batch was
/// created (a later edit of the template does not change a running batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchContent {
    Template { content: TemplateContent, variables: TemplateSpec },
    Fixed(MessageBody),
}

impl BatchContent {
    /// The content, placeholders included.
    pub fn content(&self) -> &MessageContent {
        match self {
            Self::Template { content, .. } => content.content(),
            Self::Fixed(body) => body.content(),
        }
    }

    pub fn spec(&self) -> Option<&TemplateSpec> {
        match self {
            Self::Template { variables, .. } => Some(variables),
            Self::Fixed(_) => None,
        }
    }

    /// One receiver's content. Values the template does not declare are
    /// ignored (every receiver offers its name as `name`, for templates that
    /// use one); a missing required value or a bad one is the receiver's
    /// error, named `variables.<name>`.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<MessageBody, Vec<FieldError>> {
        match self {
            Self::Fixed(body) => Ok(body.clone()),
            Self::Template { content, variables } => {
                let declared: HashMap<String, String> = values
                    .iter()
                    .filter(|(k, _)| variables.get(k).is_some())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                template::render(variables, content, &declared)
            }
        }
    }
}

/// Whom a batch goes to, as stored in `target_config`. Manual and import
/// receivers are rows written with the batch; group and filter targets are
/// expanded from the account's directory by the feeder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetConfig {
    Manual,
    Import,
    Group { group_id: String },
    Filter(ContactFilter),
}

impl TargetConfig {
    /// The stored `target_type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Import => "import",
            Self::Group { .. } => "group",
            Self::Filter(_) => "filter",
        }
    }

    /// Whether receivers come from the directory, chunk by chunk.
    pub fn is_expanded(&self) -> bool {
        matches!(self, Self::Group { .. } | Self::Filter(_))
    }
}

/// The account's contacts a filter batch goes to: every one of `tags`
/// (case-insensitive), the type (`internal` | `external`, empty: both) and a
/// substring of the name, alias or remark.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactFilter {
    pub tags: Vec<String>,
    pub contact_type: String,
    pub text: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "batch_tests.rs"]
mod tests;
