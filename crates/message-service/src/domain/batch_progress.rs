//! How far a batch is: its receivers' statuses (a fed receiver shows its
//! message's), the counters derived from its messages (one per fed
//! receiver, so they are exact), and the ETA from the throttle and what is
//! left.

use wework_proto::message as pb;

use super::status::MessageStatus;
use super::throttle::ThrottlePolicy;

/// A batch's receivers by where they stand, derived from its messages'
/// statuses (one per fed receiver) and the receivers not fed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub total: u64,
    /// Receivers not fed yet.
    pub unfed: u64,
    /// Messages pending or sending.
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    /// Failed messages and receivers whose content could not be rendered.
    pub failed: u64,
    /// Cancelled messages and receivers cancelled before they were fed.
    pub cancelled: u64,
}

impl BatchCounts {
    /// `messages`: the batch's messages per status; `failed_unfed` and
    /// `cancelled_unfed`: receivers that never got a message. Receivers not
    /// fed are what is left of `total` (so a receiver whose message exists
    /// but is not linked yet is never counted twice).
    pub fn derive(total: u64, messages: &[(MessageStatus, u64)], failed_unfed: u64, cancelled_unfed: u64) -> Self {
        let mut c = Self { total, failed: failed_unfed, cancelled: cancelled_unfed, ..Self::default() };
        for (status, n) in messages {
            match status {
                MessageStatus::Pending | MessageStatus::Sending => c.queued += n,
                MessageStatus::Sent => c.sent += n,
                MessageStatus::Delivered => c.delivered += n,
                MessageStatus::Failed => c.failed += n,
                MessageStatus::Cancelled => c.cancelled += n,
            }
        }
        let accounted = c.queued + c.sent + c.delivered + c.failed + c.cancelled;
        c.unfed = total.saturating_sub(accounted);
        c
    }

    /// Messages handed to WeWork (sent or delivered).
    pub fn success(&self) -> u64 {
        self.sent + self.delivered
    }

    /// Receivers with an outcome: sent, delivered or failed.
    pub fn processed(&self) -> u64 {
        self.success() + self.failed
    }

    /// Receivers still to go out: not fed, or queued.
    pub fn left(&self) -> u64 {
        self.unfed + self.queued
    }

    /// Share of receivers that reached an outcome (cancelled included), 0–100.
    pub fn progress_percent(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let done = (self.processed() + self.cancelled).min(self.total);
        (done as f64 * 10_000.0 / self.total as f64).round() / 100.0
    }
}

/// Stored receiver statuses: `pending` (not fed), `queued` (its message
/// exists: the message's status tells the rest), `failed` (its content could
/// not be rendered), `cancelled` (the batch was cancelled before it was fed).
pub mod receiver {
    pub const PENDING: &str = "pending";
    pub const QUEUED: &str = "queued";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}

/// A receiver's status as the API shows it: its message's when it has one.
pub fn receiver_status(stored: &str, message: Option<MessageStatus>) -> pb::ReceiverStatus {
    use pb::ReceiverStatus as R;
    match message {
        Some(MessageStatus::Pending | MessageStatus::Sending) => R::Queued,
        Some(MessageStatus::Sent) => R::Sent,
        Some(MessageStatus::Delivered) => R::Delivered,
        Some(MessageStatus::Failed) => R::Failed,
        Some(MessageStatus::Cancelled) => R::Cancelled,
        None => match stored {
            receiver::PENDING => R::Pending,
            receiver::QUEUED => R::Queued,
            receiver::FAILED => R::Failed,
            receiver::CANCELLED => R::Cancelled,
            _ => R::Unspecified,
        },
    }
}

/// Seconds to send `left` messages at `policy`'s pace: the interval plus
/// half the jitter on average, no faster than the per-minute cap, and whole
/// days at the daily cap. Closed windows are not counted, so it is a lower
/// bound when the batch has one.
pub fn eta_secs(left: u64, policy: &ThrottlePolicy) -> u32 {
    if left == 0 {
        return 0;
    }
    let interval_ms = (policy.min_interval + policy.jitter / 2).num_milliseconds().max(0);
    let cap_ms = if policy.per_minute > 0 { 60_000 / i64::from(policy.per_minute) } else { 0 };
    let per_message_ms = u64::try_from(interval_ms.max(cap_ms)).unwrap_or(0);
    let per_day = u64::from(policy.per_day.max(1));
    let full_days = (left - 1) / per_day;
    let rest = left - full_days * per_day;
    let ms = full_days.saturating_mul(86_400_000).saturating_add(rest.saturating_mul(per_message_ms));
    u32::try_from(ms.div_ceil(1_000)).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "batch_progress_tests.rs"]
mod tests;
