//! Message and receiver statuses and the one rule about moving between them:
//! a message only ever moves forward (pending → sending → sent → delivered;
//! failed and cancelled are final), so a late or repeated receipt never
//! moves it back.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Sending,
    Sent,
    Delivered,
    Failed,
    Cancelled,
}

impl MessageStatus {
    pub const ALL: [Self; 6] =
        [Self::Pending, Self::Sending, Self::Sent, Self::Delivered, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// No later change applies: a delivered message stays delivered.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Cancelled)
    }

    fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Sending => 1,
            Self::Sent => 2,
            Self::Delivered => 3,
            Self::Failed | Self::Cancelled => 4,
        }
    }

    /// Whether a receipt saying `to` may move a message that is `self`.
    /// Receipts come from the instance: `sent`, `delivered` or `failed`. A
    /// receipt may overtake the dispatcher's own write (pending/sending →
    /// delivered), but nothing moves a final status, and nothing moves back.
    pub fn receipt_applies(self, to: Self) -> bool {
        matches!(to, Self::Sent | Self::Delivered | Self::Failed) && !self.is_final() && to.rank() > self.rank()
    }

    pub fn to_proto(self) -> i32 {
        use wework_proto::message::MessageStatus as P;
        (match self {
            Self::Pending => P::Pending,
            Self::Sending => P::Sending,
            Self::Sent => P::Sent,
            Self::Delivered => P::Delivered,
            Self::Failed => P::Failed,
            Self::Cancelled => P::Cancelled,
        }) as i32
    }

    pub fn from_proto(v: i32) -> Option<Self> {
        use wework_proto::message::MessageStatus as P;
        match P::try_from(v).ok()? {
            P::Unspecified => None,
            P::Pending => Some(Self::Pending),
            P::Sending => Some(Self::Sending),
            P::Sent => Some(Self::Sent),
            P::Delivered => Some(Self::Delivered),
            P::Failed => Some(Self::Failed),
            P::Cancelled => Some(Self::Cancelled),
        }
    }
}

/// Which of the statistics counters a status change bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatDelta {
    pub total: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub latency_sum_ms: i64,
    pub latency_samples: i64,
}

impl StatDelta {
    /// A message reaching `status` (from an earlier one). A receipt that
    /// jumps straight to delivered counts as sent too, so `sent ≥ delivered`
    /// always holds; `latency_ms` is accepted → sent, counted once, when it
    /// first becomes sent.
    pub fn reaching(from: MessageStatus, to: MessageStatus, latency_ms: Option<i64>) -> Self {
        let was_sent = matches!(from, MessageStatus::Sent | MessageStatus::Delivered);
        let mut d = Self::default();
        match to {
            MessageStatus::Sent | MessageStatus::Delivered if !was_sent => {
                d.sent = 1;
                if let Some(ms) = latency_ms {
                    d.latency_sum_ms = ms.max(0);
                    d.latency_samples = 1;
                }
            }
            _ => {}
        }
        if to == MessageStatus::Delivered && from != MessageStatus::Delivered {
            d.delivered = 1;
        }
        if to == MessageStatus::Failed && from != MessageStatus::Failed {
            d.failed = 1;
        }
        d
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: &Self) {
        self.total += other.total;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.latency_sum_ms += other.latency_sum_ms;
        self.latency_samples += other.latency_samples;
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;
    use super::*;

    #[test]
    fn receipts_only_move_forward() {
        assert!(Sending.receipt_applies(Sent));
        assert!(Sent.receipt_applies(Delivered));
        assert!(Pending.receipt_applies(Delivered));
        assert!(Sent.receipt_applies(Failed));
        assert!(!Delivered.receipt_applies(Sent));
        assert!(!Delivered.receipt_applies(Failed));
        assert!(!Sent.receipt_applies(Sent));
        assert!(!Failed.receipt_applies(Delivered));
        assert!(!Cancelled.receipt_applies(Sent));
        assert!(!Sending.receipt_applies(Pending));
    }

    #[test]
    fn statistics_count_each_message_once_per_counter() {
        let d = StatDelta::reaching(Sending, Sent, Some(120));
        assert_eq!((d.sent, d.delivered, d.latency_sum_ms, d.latency_samples), (1, 0, 120, 1));
        let d = StatDelta::reaching(Sent, Delivered, Some(999));
        assert_eq!((d.sent, d.delivered, d.latency_samples), (0, 1, 0));
        let d = StatDelta::reaching(Sending, Delivered, None);
        assert_eq!((d.sent, d.delivered), (1, 1));
        let d = StatDelta::reaching(Sent, Failed, None);
        assert_eq!((d.sent, d.failed), (0, 1));
        assert!(StatDelta::reaching(Pending, Cancelled, None).is_zero());
    }

    #[test]
    fn names_round_trip() {
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
            assert_eq!(MessageStatus::from_proto(s.to_proto()), Some(s));
        }
    }
}
