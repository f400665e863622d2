//! Unit tests of batch progress: derived counters, receivers' statuses, ETA.

use chrono::Duration;

use super::*;

#[test]
fn counts_are_derived_without_double_counting() {
    use MessageStatus::*;
    let messages = [(Pending, 3), (Sending, 1), (Sent, 4), (Delivered, 2), (Failed, 1), (Cancelled, 1)];
    let c = BatchCounts::derive(20, &messages, 2, 1);
    assert_eq!((c.queued, c.sent, c.delivered, c.failed, c.cancelled), (4, 4, 2, 3, 2));
    assert_eq!(c.unfed, 5);
    assert_eq!((c.success(), c.processed(), c.left()), (6, 9, 9));
    assert!((c.progress_percent() - 55.0).abs() < 1e-9, "{}", c.progress_percent());
    assert_eq!(BatchCounts::derive(0, &[], 0, 0).progress_percent(), 0.0);
    let done = BatchCounts::derive(3, &[(Delivered, 3)], 0, 0);
    assert_eq!((done.unfed, done.left(), done.progress_percent()), (0, 0, 100.0));
}

#[test]
fn receivers_show_their_messages_status() {
    use wework_proto::message::ReceiverStatus as R;
    assert_eq!(receiver_status(receiver::PENDING, None), R::Pending);
    assert_eq!(receiver_status(receiver::FAILED, None), R::Failed);
    assert_eq!(receiver_status(receiver::CANCELLED, None), R::Cancelled);
    assert_eq!(receiver_status(receiver::QUEUED, Some(MessageStatus::Sending)), R::Queued);
    assert_eq!(receiver_status(receiver::QUEUED, Some(MessageStatus::Delivered)), R::Delivered);
    assert_eq!(receiver_status(receiver::CANCELLED, Some(MessageStatus::Sent)), R::Sent);
}

#[test]
fn eta_follows_interval_jitter_and_caps() {
    let policy = |interval: i64, jitter: i64, per_minute: u32, per_day: u32| ThrottlePolicy {
        min_interval: Duration::seconds(interval),
        jitter: Duration::seconds(jitter),
        per_minute,
        per_day,
        window: None,
    };
    assert_eq!(eta_secs(0, &ThrottlePolicy::default()), 0);
    // Default: 3 s + 1 s average jitter (20/minute = 3 s is looser).
    assert_eq!(eta_secs(100, &ThrottlePolicy::default()), 400);
    // The minute cap is stricter than the interval.
    assert_eq!(eta_secs(10, &policy(1, 0, 6, 1_000)), 100);
    // 2,500 at 1,000 a day: two full days, then 500 at 1 s.
    assert_eq!(eta_secs(2_500, &policy(1, 0, 600, 1_000)), 2 * 86_400 + 500);
    // No throttle at all.
    assert_eq!(eta_secs(1_000, &policy(0, 0, 0, 100_000)), 0);
    assert_eq!(eta_secs(u64::MAX, &policy(3_600, 0, 1, 1)), u32::MAX);
}
