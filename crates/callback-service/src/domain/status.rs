//! Statuses of a callback event and the retry schedule of failed processing.
//!
//! `received` → (claimed) `processing` → `processed` | `ignored` | `failed`,
//! or back to `received` with a later `next_attempt_at` after a transient
//! failure. Replay puts a finished event back to `received`; an event being
//! processed cannot be replayed.

use std::time::Duration;

use wework_proto::callback::EventStatus as Proto;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    Received,
    Processing,
    Processed,
    Failed,
    Ignored,
}

impl EventStatus {
    pub const ALL: [Self; 5] = [Self::Received, Self::Processing, Self::Processed, Self::Failed, Self::Ignored];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processing => "processing",
            Self::Processed => "processed",
            Self::Failed => "failed",
            Self::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Finished: only a replay moves it again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Processed | Self::Failed | Self::Ignored)
    }

    pub fn to_proto(self) -> Proto {
        match self {
            Self::Received => Proto::Received,
            Self::Processing => Proto::Processing,
            Self::Processed => Proto::Processed,
            Self::Failed => Proto::Failed,
            Self::Ignored => Proto::Ignored,
        }
    }

    /// `None` for UNSPECIFIED (no filter) and unknown numbers.
    pub fn from_proto(v: i32) -> Option<Self> {
        match Proto::try_from(v).ok()? {
            Proto::Unspecified => None,
            Proto::Received => Some(Self::Received),
            Proto::Processing => Some(Self::Processing),
            Proto::Processed => Some(Self::Processed),
            Proto::Failed => Some(Self::Failed),
            Proto::Ignored => Some(Self::Ignored),
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failed (1-based):
/// `base · 2^(attempt-1)`, capped at `max`, then scaled by `jitter` (a factor
/// in 0.8..=1.2 drawn by the caller) so replicas do not retry in lockstep.
pub fn retry_delay(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    raw.mul_f64(jitter.clamp(0.5, 1.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_names_and_proto() {
        for s in EventStatus::ALL {
            assert_eq!(EventStatus::parse(s.as_str()), Some(s));
            assert_eq!(EventStatus::from_proto(s.to_proto() as i32), Some(s));
        }
        assert_eq!(EventStatus::parse("done"), None);
        assert_eq!(EventStatus::from_proto(0), None);
        assert_eq!(EventStatus::from_proto(99), None);
        assert!(EventStatus::Ignored.is_final() && !EventStatus::Processing.is_final());
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let (b, m) = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(retry_delay(1, b, m, 1.0), Duration::from_secs(1));
        assert_eq!(retry_delay(2, b, m, 1.0), Duration::from_secs(2));
        assert_eq!(retry_delay(4, b, m, 1.0), Duration::from_secs(8));
        assert_eq!(retry_delay(30, b, m, 1.0), Duration::from_secs(60));
        assert_eq!(retry_delay(1, b, m, 1.2), Duration::from_millis(1200));
        assert_eq!(retry_delay(0, b, m, 1.0), Duration::from_secs(1));
    }
}
