//! Unit tests of batch rules: the status machine, strategy parsing, the
//! stricter of batch and account, stored content and targets.

use chrono::Duration;
use wework_proto::message::SendStrategy;

use super::*;

fn strategy(f: impl FnOnce(&mut SendStrategy)) -> Result<BatchStrategy, Vec<String>> {
    let mut s = SendStrategy::default();
    f(&mut s);
    BatchStrategy::parse(Some(&s), "strategy").map_err(|errors| errors.into_iter().map(|e| e.field).collect())
}

#[test]
fn the_status_machine_allows_only_its_moves() {
    use BatchAction::*;
    use BatchStatus::*;
    assert_eq!(transition(Created, Start), Ok(Running));
    assert_eq!(transition(Running, Pause), Ok(Paused));
    assert_eq!(transition(Paused, Resume), Ok(Running));
    for from in [Created, Running, Paused] {
        assert_eq!(transition(from, Cancel), Ok(Cancelled));
    }
    let refused = [
        (Running, Start),
        (Paused, Start),
        (Created, Pause),
        (Paused, Pause),
        (Created, Resume),
        (Running, Resume),
        (Completed, Cancel),
        (Cancelled, Cancel),
        (Failed, Resume),
        (Completed, Start),
    ];
    for (from, action) in refused {
        let message = transition(from, action).unwrap_err();
        assert!(message.contains(from.as_str()), "{message}");
    }
    assert_eq!(transition(Completed, Pause).unwrap_err(), "the batch is completed: it cannot be paused");
}

#[test]
fn statuses_round_trip_and_final_ones_are_final() {
    for s in BatchStatus::ALL {
        assert_eq!(BatchStatus::parse(s.as_str()), Some(s));
        assert_eq!(BatchStatus::from_proto(s.to_proto()), Some(s));
    }
    assert_eq!(BatchStatus::from_proto(0), None);
    let finals: Vec<_> = BatchStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
    assert_eq!(finals, [BatchStatus::Completed, BatchStatus::Failed, BatchStatus::Cancelled]);
}

#[test]
fn an_absent_or_empty_strategy_is_the_accounts() {
    assert_eq!(BatchStrategy::parse(None, "strategy").unwrap(), BatchStrategy::default());
    assert_eq!(strategy(|_| {}).unwrap(), BatchStrategy::default());
}

#[test]
fn a_strategy_with_a_window_is_parsed_and_round_trips() {
    let parsed = strategy(|s| {
        s.min_interval_secs = 10;
        s.max_per_minute = 5;
        s.window_start = "09:00".into();
        s.window_end = "21:30".into();
        s.time_zone = "Asia/Shanghai".into();
        s.offline_wait_secs = 600;
    })
    .unwrap();
    let window = parsed.window().unwrap();
    assert_eq!(window.tz, chrono_tz::Asia::Shanghai);
    assert_eq!(window.start.format("%H:%M").to_string(), "09:00");
    let proto = parsed.to_proto();
    assert_eq!(BatchStrategy::parse(Some(&proto), "strategy").unwrap(), parsed);
    let json = serde_json::to_string(&parsed).unwrap();
    assert_eq!(serde_json::from_str::<BatchStrategy>(&json).unwrap(), parsed);
}

#[test]
fn strategy_errors_name_their_fields() {
    let fields = strategy(|s| {
        s.min_interval_secs = MAX_INTERVAL_SECS + 1;
        s.max_per_minute = MAX_PER_MINUTE + 1;
        s.offline_wait_secs = MAX_OFFLINE_WAIT_SECS + 1;
    })
    .unwrap_err();
    assert_eq!(fields, ["strategy.min_interval_secs", "strategy.max_per_minute", "strategy.offline_wait_secs"]);
    let bad_window = |start: &str, end: &str, zone: &str| {
        strategy(|s| {
            s.window_start = start.into();
            s.window_end = end.into();
            s.time_zone = zone.into();
        })
        .unwrap_err()
    };
    assert_eq!(bad_window("9:00", "21:00", "UTC"), ["strategy.window_start"]);
    assert_eq!(bad_window("09:00", "24:00", "UTC"), ["strategy.window_end"]);
    assert_eq!(bad_window("09:00", "", "UTC"), ["strategy.window_end"]);
    assert_eq!(bad_window("09:00", "09:00", "UTC"), ["strategy.window_end"]);
    assert_eq!(bad_window("09:00", "18:00", "Mars/Olympus"), ["strategy.time_zone"]);
    assert_eq!(bad_window("09:00", "18:00", ""), ["strategy.time_zone"]);
    assert_eq!(bad_window("", "", "UTC"), ["strategy.time_zone"]);
    assert_eq!(bad_window("0a:00", "18:00", "UTC"), ["strategy.window_start"]);
}

#[test]
fn the_stricter_of_batch_and_account_applies() {
    let account = ThrottlePolicy { min_interval: Duration::seconds(3), per_minute: 20, ..ThrottlePolicy::default() };
    let slow = strategy(|s| {
        s.min_interval_secs = 10;
        s.max_per_minute = 4;
    })
    .unwrap();
    let merged = slow.stricter(&account);
    assert_eq!((merged.min_interval, merged.per_minute), (Duration::seconds(10), 4));
    let loose = strategy(|s| {
        s.min_interval_secs = 1;
        s.max_per_minute = 100;
    })
    .unwrap();
    let merged = loose.stricter(&account);
    assert_eq!((merged.min_interval, merged.per_minute), (Duration::seconds(3), 20));
    assert_eq!(BatchStrategy::default().stricter(&account), account);
}

#[test]
fn stored_content_round_trips_and_renders_per_receiver() {
    use wework_proto::message::content::{Kind, Text};
    use wework_proto::message::{Content, Variable};
    let text = |t: &str| Content { kind: Some(Kind::Text(Text { text: t.into() })) };
    let var = Variable { name: "name".into(), required: true, ..Variable::default() };
    let variables = TemplateSpec::parse(&[var], "variables").unwrap();
    let content = TemplateContent::parse(&variables, Some(&text("Hi {{ name }}")), "content").unwrap();
    let templated = BatchContent::Template { content, variables };
    let fixed = BatchContent::Fixed(super::super::content::parse(Some(&text("Hello")), "content").unwrap());
    for stored in [&templated, &fixed] {
        let json = serde_json::to_string(stored).unwrap();
        assert_eq!(&serde_json::from_str::<BatchContent>(&json).unwrap(), stored, "{json}");
    }
    let values = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    // A value the template does not declare is ignored, not an error.
    let body = templated.render(&values(&[("name", "Li {{x}}"), ("city", "Shanghai")])).unwrap();
    assert_eq!(body.content(), &MessageContent::Text { text: "Hi Li {{x}}".into() });
    let errors = templated.render(&values(&[])).unwrap_err();
    assert_eq!(errors[0].field, "variables.name");
    assert_eq!(
        fixed.render(&values(&[("name", "x")])).unwrap().content(),
        &MessageContent::Text { text: "Hello".into() }
    );
    assert!(fixed.spec().is_none() && templated.spec().is_some());
}

#[test]
fn targets_are_stored_with_their_kind() {
    let filter = TargetConfig::Filter(ContactFilter {
        tags: vec!["vip".into()],
        contact_type: "external".into(),
        text: String::new(),
    });
    let group = TargetConfig::Group { group_id: "R1".into() };
    for (target, kind, expanded) in [
        (TargetConfig::Manual, "manual", false),
        (TargetConfig::Import, "import", false),
        (group, "group", true),
        (filter, "filter", true),
    ] {
        let json = serde_json::to_string(&target).unwrap();
        assert!(json.contains(&format!("\"kind\":\"{kind}\"")), "{json}");
        assert_eq!(serde_json::from_str::<TargetConfig>(&json).unwrap(), target);
        assert_eq!((target.kind(), target.is_expanded()), (kind, expanded));
    }
}
