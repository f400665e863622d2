use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn business_unique_id_is_one_to_191_printable_characters() {
    assert_eq!(
        BusinessUniqueId::parse("task.business_unique_id", " order:42 ").map(BusinessUniqueId::into_inner),
        Ok("order:42".to_owned())
    );
    assert!(BusinessUniqueId::parse("f", &"订".repeat(191)).is_ok());
    for bad in ["", "   ", &"a".repeat(192), "a\u{0}b", "line\nbreak"] {
        assert_eq!(
            BusinessUniqueId::parse("tasks[3].business_unique_id", bad).expect_err(bad).field,
            "tasks[3].business_unique_id"
        );
    }
}

#[test]
fn slot_ids_are_stable_per_schedule_and_slot() {
    let slot = DateTime::from_timestamp(1_767_225_600, 0).expect("valid");
    let id = BusinessUniqueId::for_slot("0190e7a4-0000-7000-8000-000000000001", slot);
    assert_eq!(id.as_str(), "0190e7a4-0000-7000-8000-000000000001:2026-01-01T00:00:00Z");
}

#[test]
fn business_code_is_a_lowercase_handle() {
    assert!(BusinessCode::parse("business_code", "crm_sync-2").is_ok());
    for bad in ["a", "CRM", "crm sync", "crm.sync", &"a".repeat(65), ""] {
        assert_eq!(BusinessCode::parse("business_code", bad).expect_err(bad).field, "business_code");
    }
}

#[test]
fn display_names_and_descriptions() {
    assert!(DisplayName::parse("business_name", "客户关系 CRM").is_ok());
    for bad in ["", " ", &"n".repeat(129), "tab\there"] {
        assert_eq!(DisplayName::parse("business_name", bad).expect_err(bad).field, "business_name");
    }
    assert_eq!(Description::parse("description", "  ").map(Description::into_inner), Ok(String::new()));
    assert!(Description::parse("description", "line one\nline two\ttabbed").is_ok());
    assert!(Description::parse("description", &"d".repeat(1024)).is_ok());
    for bad in [&"d".repeat(1025), "bell\u{7}"] {
        assert_eq!(Description::parse("description", bad).expect_err("bad").field, "description");
    }
}

#[test]
fn endpoint_name_defaults_and_is_a_handle() {
    assert_eq!(EndpointName::parse("name", "").map(EndpointName::into_inner), Ok("default".to_owned()));
    assert!(EndpointName::parse("name", "x").is_ok());
    for bad in ["Billing", "a b", &"a".repeat(65)] {
        assert_eq!(EndpointName::parse("name", bad).expect_err(bad).field, "name");
    }
}

#[test]
fn tags_are_bounded_restricted_and_deduplicated() {
    let raw: Vec<String> = ["env:prod", "a.b_c-d", "env:prod"].map(str::to_owned).to_vec();
    assert_eq!(
        Tags::parse("task.tags", &raw).map(Tags::into_inner),
        Ok(vec!["env:prod".to_owned(), "a.b_c-d".to_owned()])
    );
    let too_many: Vec<String> = (0..17).map(|i| format!("t{i}")).collect();
    assert_eq!(Tags::parse("task.tags", &too_many).expect_err("17 tags").field, "task.tags");
    assert!(Tags::parse("task.tags", &too_many[..16]).is_ok());
    for bad in ["", "has space", "slash/", "标签", &"t".repeat(65)] {
        assert_eq!(Tags::parse("task.tags", &[bad.to_owned()]).expect_err(bad).field, "task.tags");
    }
}

#[test]
fn urls_are_absolute_http_without_credentials() {
    let url = ValidUrl::parse("task.http.url", " https://Example.COM:8443/hook?a=1#frag ").expect("valid");
    assert_eq!(url.as_str(), "https://example.com:8443/hook?a=1");
    assert_eq!(url.host(), "example.com");
    assert!(ValidUrl::parse("u", "http://[::1]:8080/").is_ok());
    let long = format!("https://example.com/{}", "p".repeat(2048 - 20));
    assert_eq!(long.len(), 2048);
    assert!(ValidUrl::parse("u", &long).is_ok());
    for bad in [
        "",
        "example.com/hook",
        "/relative",
        "ftp://example.com/",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://exa mple.com/",
        "https://example.com/a\nb",
        "http://",
        "https://example.com:99999/",
        &format!("{long}p"),
    ] {
        assert_eq!(ValidUrl::parse("task.http.url", bad).expect_err(bad).field, "task.http.url", "{bad}");
    }
}

#[test]
fn priority_defaults_to_five_and_is_one_to_ten() {
    assert_eq!(Priority::parse("p", 0), Ok(Priority::DEFAULT));
    assert_eq!(Priority::DEFAULT.get(), 5);
    assert_eq!(Priority::parse("p", 10).map(Priority::get), Ok(10));
    assert_eq!(Priority::parse("tasks[3].priority", 11).expect_err("11").field, "tasks[3].priority");
}

#[test]
fn timeout_defaults_to_fifteen_seconds_and_is_bounded() {
    assert_eq!(TimeoutMs::parse("t", 0).map(TimeoutMs::as_duration), Ok(Duration::from_secs(15)));
    assert_eq!(TimeoutMs::parse("t", 100).map(TimeoutMs::get), Ok(100));
    assert_eq!(TimeoutMs::parse("t", 60_000).map(TimeoutMs::get), Ok(60_000));
    for bad in [99, 60_001] {
        assert_eq!(TimeoutMs::parse("task.timeout_ms", bad).expect_err("bounds").field, "task.timeout_ms");
    }
}

#[test]
fn rate_limit_is_capped() {
    assert_eq!(RateLimit::parse("rate_limit", 0).map(RateLimit::get), Ok(0));
    assert_eq!(RateLimit::parse("rate_limit", 100_000).map(RateLimit::get), Ok(100_000));
    assert_eq!(RateLimit::parse("rate_limit", 100_001).expect_err("cap").field, "rate_limit");
}

#[test]
fn uuids_are_normalised() {
    assert_eq!(
        parse_uuid("id", " 0190E7A4-0000-7000-8000-00000000000A "),
        Ok("0190e7a4-0000-7000-8000-00000000000a".to_owned())
    );
    assert_eq!(parse_uuid("task.endpoint_id", "nope").expect_err("not a uuid").field, "task.endpoint_id");
}

#[test]
fn timestamps_must_be_in_range() {
    let ok = prost_types::Timestamp { seconds: 1_767_225_600, nanos: 5 };
    assert_eq!(parse_timestamp("t", &ok).map(|t| t.timestamp_subsec_nanos()), Ok(5));
    for bad in
        [prost_types::Timestamp { seconds: 0, nanos: -1 }, prost_types::Timestamp { seconds: i64::MAX, nanos: 0 }]
    {
        assert_eq!(parse_timestamp("created_after", &bad).expect_err("range").field, "created_after");
    }
}

#[test]
fn overlap_defaults_to_a_day_and_caps_at_a_week() {
    assert_eq!(parse_overlap("overlap_seconds", 0), Ok(Duration::from_secs(86_400)));
    assert_eq!(parse_overlap("overlap_seconds", 604_800), Ok(MAX_OVERLAP));
    assert_eq!(parse_overlap("overlap_seconds", 604_801).expect_err("cap").field, "overlap_seconds");
}

#[test]
fn headers_are_valid_lowercased_and_not_reserved() {
    let parsed = parse_headers("h", &map(&[("X-Trace", "abc"), ("Authorization", "Bearer t")])).expect("valid");
    assert_eq!(parsed.get("x-trace").map(String::as_str), Some("abc"));
    assert_eq!(parsed.get("authorization").map(String::as_str), Some("Bearer t"));
    let field = "task.http.headers";
    for reserved in [
        "Webhook-Signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-anything",
        "Host",
        "content-length",
        "Transfer-Encoding",
        "connection",
        "Content-Type",
    ] {
        assert_eq!(parse_headers(field, &map(&[(reserved, "x")])).expect_err(reserved).field, field);
    }
    for (name, value) in [("bad name", "x"), ("x-ok", "line\nbreak"), ("", "x"), ("x-ok", &"v".repeat(4097))] {
        assert_eq!(parse_headers(field, &map(&[(name, value)])).expect_err(name).field, field);
    }
    assert!(parse_headers(field, &map(&[("X-A", "1"), ("x-a", "2")])).is_err(), "same name twice");
    let many: HashMap<String, String> = (0..33).map(|i| (format!("x-h{i}"), "v".to_owned())).collect();
    assert_eq!(parse_headers(field, &many).expect_err("33").field, field);
}

#[test]
fn content_type_defaults_to_json_and_must_be_a_media_type() {
    assert_eq!(parse_content_type("c", ""), Ok("application/json".to_owned()));
    assert_eq!(parse_content_type("c", "text/plain; charset=utf-8"), Ok("text/plain; charset=utf-8".to_owned()));
    for bad in ["json", "text/", "/plain", "a/b/c", "text/plain;\u{1}", &format!("text/{}", "x".repeat(124))] {
        assert_eq!(parse_content_type("task.http.content_type", bad).expect_err(bad).field, "task.http.content_type");
    }
}

#[test]
fn scheduled_at_is_now_by_default_and_within_a_year() {
    let now = DateTime::from_timestamp(1_767_225_600, 0).expect("valid");
    assert_eq!(parse_scheduled_at("s", None, now), Ok(now));
    let past = prost_types::Timestamp { seconds: now.timestamp() - 3600, nanos: 0 };
    assert_eq!(parse_scheduled_at("s", Some(&past), now).map(|t| t.timestamp()), Ok(past.seconds), "past = due now");
    let limit = prost_types::Timestamp { seconds: now.timestamp() + 366 * 86_400, nanos: 0 };
    assert!(parse_scheduled_at("s", Some(&limit), now).is_ok());
    let beyond = prost_types::Timestamp { seconds: limit.seconds + 1, nanos: 0 };
    assert_eq!(
        parse_scheduled_at("task.scheduled_at", Some(&beyond), now).expect_err("beyond").field,
        "task.scheduled_at"
    );
}

#[test]
fn retry_settings_default_and_are_bounded() {
    let default = parse_retry("task", &[], None).expect("default");
    assert_eq!((default.intervals(), default.max_retries()), (&DEFAULT_RETRY_INTERVALS[..], 7));
    let custom = parse_retry("task", &[1, 2, 3], None).expect("custom");
    assert_eq!((custom.intervals(), custom.max_retries()), (&[1, 2, 3][..], 3));
    assert_eq!(parse_retry("task", &[10], Some(20)).map(|r| r.max_retries()), Ok(20), "last interval repeats");
    assert_eq!(parse_retry("task", &[], Some(0)).map(|r| r.max_retries()), Ok(0));
    assert!(parse_retry("task", &[604_800; 20], None).is_ok());
    assert_eq!(parse_retry("task", &[1; 21], None).expect_err("21").field, "task.retry_intervals");
    assert_eq!(parse_retry("task", &[604_801], None).expect_err("8 days").field, "task.retry_intervals");
    assert_eq!(parse_retry("tasks[1]", &[], Some(21)).expect_err("21").field, "tasks[1].max_retries");
}

#[test]
fn methods_round_trip() {
    assert_eq!(HttpMethod::from_proto("m", 0), Ok(HttpMethod::Post));
    for m in [HttpMethod::Post, HttpMethod::Put, HttpMethod::Patch, HttpMethod::Get, HttpMethod::Delete] {
        assert_eq!(HttpMethod::from_stored(m.as_str()), Some(m));
        assert_eq!(HttpMethod::from_proto("m", m.to_proto() as i32), Ok(m));
    }
    assert_eq!(HttpMethod::from_stored("post"), None);
}
