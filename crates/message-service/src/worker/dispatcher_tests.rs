//! The dispatcher's pure rules: retry backoff, due time, grouping.

use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

fn settings(base: u64, max: u64) -> DispatchSettings {
    DispatchSettings { retry_backoff_secs: base, retry_backoff_max_secs: max, ..DispatchSettings::default() }
}

fn within(d: Duration, secs: f64) -> bool {
    let ms = d.num_milliseconds() as f64;
    ms >= secs * 800.0 - 1.0 && ms <= secs * 1200.0 + 1.0
}

#[test]
fn backoff_doubles_per_attempt_with_jitter() {
    let s = settings(5, 600);
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..200 {
        assert!(within(retry_backoff(&s, 1, &mut rng), 5.0));
        assert!(within(retry_backoff(&s, 2, &mut rng), 10.0));
        assert!(within(retry_backoff(&s, 3, &mut rng), 20.0));
        assert!(within(retry_backoff(&s, 5, &mut rng), 80.0));
    }
    let draws: std::collections::BTreeSet<i64> =
        (0..100).map(|_| retry_backoff(&s, 1, &mut rng).num_milliseconds()).collect();
    assert!(draws.len() > 20, "jitter must vary: {draws:?}");
}

#[test]
fn backoff_is_capped_and_never_above_the_cap() {
    let s = settings(5, 60);
    let mut rng = StdRng::seed_from_u64(2);
    for attempt in [5, 6, 10, 40, 64, u32::MAX] {
        for _ in 0..50 {
            let d = retry_backoff(&s, attempt, &mut rng);
            assert!(d <= Duration::seconds(60), "attempt {attempt}: {d}");
            assert!(d >= Duration::seconds(48), "attempt {attempt}: {d}");
        }
    }
    // Attempt 0 is treated as the first.
    assert!(within(retry_backoff(&s, 0, &mut rng), 5.0));
}

fn row(id: &str, account: &str, created: DateTime<Utc>, scheduled: Option<DateTime<Utc>>) -> message::Model {
    message::Model {
        id: id.into(),
        tenant_id: "t".into(),
        account_id: account.into(),
        conversation_id: "c".into(),
        chat_type: "private".into(),
        direction: "out".into(),
        message_type: "text".into(),
        content: "{}".into(),
        at_list: None,
        template_id: None,
        status: "sending".into(),
        wework_msg_id: None,
        send_time: None,
        callback_time: None,
        error_code: None,
        error_message: None,
        retry_count: 0,
        batch_id: None,
        receiver_id: None,
        priority: 5,
        scheduled_time: scheduled,
        next_attempt_at: Some(created),
        idempotency_key: None,
        claim_id: None,
        claimed_by: None,
        lease_until: None,
        sender_id: None,
        sender_name: None,
        created_at: created,
        updated_at: created,
        traceparent: None,
    }
}

#[test]
fn due_since_is_the_later_of_creation_and_schedule() {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    assert_eq!(due_since(&row("a", "x", t0, None)), t0);
    assert_eq!(due_since(&row("a", "x", t0, Some(t0 + Duration::hours(1)))), t0 + Duration::hours(1));
    assert_eq!(due_since(&row("a", "x", t0, Some(t0 - Duration::hours(1)))), t0);
}

#[test]
fn grouping_keeps_claim_order() {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let rows = vec![row("1", "b", t0, None), row("2", "a", t0, None), row("3", "b", t0, None), row("4", "c", t0, None)];
    let groups = by_account(rows);
    let shape: Vec<(String, Vec<String>)> =
        groups.into_iter().map(|(a, ms)| (a, ms.into_iter().map(|m| m.id).collect())).collect();
    assert_eq!(
        shape,
        vec![
            ("b".to_owned(), vec!["1".to_owned(), "3".to_owned()]),
            ("a".to_owned(), vec!["2".to_owned()]),
            ("c".to_owned(), vec!["4".to_owned()]),
        ]
    );
}
