use std::collections::HashMap;

use super::*;
use crate::domain::retry::DEFAULT_RETRY_INTERVALS;

const ENDPOINT: &str = "0190e7a4-0000-7000-8000-00000000000a";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("valid")
}

fn http(url: &str) -> Option<pb::task_spec::Target> {
    Some(pb::task_spec::Target::Http(pb::HttpTarget { url: url.to_owned(), ..Default::default() }))
}

fn spec() -> pb::TaskSpec {
    pb::TaskSpec {
        business_unique_id: "order-1".to_owned(),
        target: http("https://example.com/hook"),
        body: b"{}".to_vec(),
        ..Default::default()
    }
}

fn field_of(prefix: &str, edit: impl FnOnce(&mut pb::TaskSpec)) -> String {
    let mut s = spec();
    edit(&mut s);
    NewTaskSpec::parse(prefix, s, now()).expect_err("invalid").field
}

#[test]
fn a_minimal_task_gets_every_default() {
    let task = NewTaskSpec::parse("task", spec(), now()).expect("valid");
    let TaskTarget::Http { url, method, headers, content_type } = &task.target else { panic!("http target") };
    assert_eq!((url.as_str(), *method, headers.len()), ("https://example.com/hook", HttpMethod::Post, 0));
    assert_eq!(content_type, "application/json");
    assert_eq!(task.priority.get(), 5);
    assert_eq!(task.timeout.get(), 15_000);
    assert_eq!((task.retry.intervals(), task.retry.max_retries()), (&DEFAULT_RETRY_INTERVALS[..], 7));
    assert_eq!(task.scheduled_at, now());
    assert_eq!(task.business_unique_id.as_str(), "order-1");
}

#[test]
fn an_endpoint_target_is_a_normalised_uuid() {
    let mut s = spec();
    s.target = Some(pb::task_spec::Target::EndpointId(ENDPOINT.to_uppercase()));
    let task = NewTaskSpec::parse("task", s, now()).expect("valid");
    assert_eq!(task.target, TaskTarget::Endpoint { endpoint_id: ENDPOINT.to_owned() });
}

#[test]
fn every_task_error_names_its_proto_path() {
    let target = |t| move |s: &mut pb::TaskSpec| s.target = t;
    assert_eq!(field_of("task", target(None)), "task.target");
    assert_eq!(field_of("tasks[3]", target(None)), "tasks[3].target");
    assert_eq!(field_of("task", target(Some(pb::task_spec::Target::EndpointId("x".into())))), "task.endpoint_id");
    assert_eq!(field_of("task", target(http("ftp://example.com"))), "task.http.url");
    let with = |edit: fn(&mut pb::HttpTarget)| {
        move |s: &mut pb::TaskSpec| {
            let mut h = pb::HttpTarget { url: "https://example.com".into(), ..Default::default() };
            edit(&mut h);
            s.target = Some(pb::task_spec::Target::Http(h));
        }
    };
    assert_eq!(field_of("task", with(|h| h.method = 99)), "task.http.method");
    assert_eq!(
        field_of("task", with(|h| h.headers = HashMap::from([("Host".into(), "x".into())]))),
        "task.http.headers"
    );
    assert_eq!(field_of("task", with(|h| h.content_type = "json".into())), "task.http.content_type");
    assert_eq!(field_of("task", |s| s.business_unique_id.clear()), "task.business_unique_id");
    assert_eq!(field_of("task", |s| s.body = vec![0; MAX_BODY_BYTES + 1]), "task.body");
    assert_eq!(field_of("task", |s| s.tags = vec!["a b".into()]), "task.tags");
    assert_eq!(field_of("task", |s| s.priority = 11), "task.priority");
    let far = prost_types::Timestamp { seconds: now().timestamp() + 400 * 86_400, nanos: 0 };
    assert_eq!(field_of("task", |s| s.scheduled_at = Some(far)), "task.scheduled_at");
    assert_eq!(field_of("task", |s| s.retry_intervals = vec![1; 21]), "task.retry_intervals");
    assert_eq!(field_of("task", |s| s.max_retries = Some(21)), "task.max_retries");
    assert_eq!(field_of("task", |s| s.timeout_ms = 50), "task.timeout_ms");
}

#[test]
fn a_full_task_keeps_what_was_asked() {
    let mut s = spec();
    s.target = Some(pb::task_spec::Target::Http(pb::HttpTarget {
        url: "http://example.com/put".into(),
        method: pb::HttpMethod::Put as i32,
        headers: HashMap::from([("X-Tenant".into(), "t1".into())]),
        content_type: "text/plain".into(),
    }));
    s.body = vec![7; MAX_BODY_BYTES];
    s.priority = 9;
    s.retry_intervals = vec![1, 2];
    s.max_retries = Some(5);
    s.timeout_ms = 100;
    let at = now() + chrono::Duration::hours(1);
    s.scheduled_at = Some(prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 });
    let task = NewTaskSpec::parse("task", s, now()).expect("valid");
    let TaskTarget::Http { method, headers, content_type, .. } = &task.target else { panic!("http target") };
    assert_eq!(
        (*method, headers.get("x-tenant").map(String::as_str), content_type.as_str()),
        (HttpMethod::Put, Some("t1"), "text/plain")
    );
    assert_eq!((task.priority.get(), task.timeout.get(), task.scheduled_at), (9, 100, at));
    assert_eq!((task.retry.intervals(), task.retry.max_retries()), (&[1, 2][..], 5));
    assert_eq!(task.body.len(), MAX_BODY_BYTES);
}

#[test]
fn a_template_needs_no_key() {
    let mut s = spec();
    s.business_unique_id.clear();
    let template = NewTaskSpec::parse_template("template", s, now()).expect("valid");
    assert!(matches!(template.target, TaskTarget::Http { .. }));
}

#[test]
fn business_systems_name_their_fields() {
    let ok = pb::RegisterBusinessSystemRequest {
        business_code: "crm".into(),
        business_name: "CRM".into(),
        rate_limit: 50,
        description: String::new(),
    };
    let parsed = NewBusinessSystem::parse(&ok).expect("valid");
    assert_eq!((parsed.code.as_str(), parsed.rate_limit.get()), ("crm", 50));
    type Edit = fn(&mut pb::RegisterBusinessSystemRequest);
    let cases: [(&str, Edit); 4] = [
        ("business_code", |r| r.business_code = "C".into()),
        ("business_name", |r| r.business_name.clear()),
        ("rate_limit", |r| r.rate_limit = 100_001),
        ("description", |r| r.description = "x".repeat(1025)),
    ];
    for (field, edit) in cases {
        let mut r = ok.clone();
        edit(&mut r);
        assert_eq!(NewBusinessSystem::parse(&r).expect_err(field).field, field);
    }
}

#[test]
fn business_updates_change_only_what_is_set() {
    let id = ENDPOINT.to_owned();
    let none = BusinessSystemUpdate::parse(&pb::UpdateBusinessSystemRequest { id: id.clone(), ..Default::default() });
    let none = none.expect("valid");
    assert_eq!((none.name, none.rate_limit, none.status, none.description), (None, None, None, None));
    let set = pb::UpdateBusinessSystemRequest {
        id: id.clone(),
        rate_limit: Some(0),
        status: pb::BusinessStatus::Disabled as i32,
        description: Some(String::new()),
        ..Default::default()
    };
    let set = BusinessSystemUpdate::parse(&set).expect("valid");
    assert_eq!((set.rate_limit.map(RateLimit::get), set.status), (Some(0), Some(BusinessStatus::Disabled)));
    assert_eq!(set.description.map(Description::into_inner), Some(String::new()), "Some(\"\") clears");
    let bad = |r: pb::UpdateBusinessSystemRequest| BusinessSystemUpdate::parse(&r).expect_err("invalid").field;
    let base = || pb::UpdateBusinessSystemRequest { id: id.clone(), ..Default::default() };
    assert_eq!(bad(pb::UpdateBusinessSystemRequest { id: "x".into(), ..base() }), "id");
    assert_eq!(bad(pb::UpdateBusinessSystemRequest { business_name: Some(" ".into()), ..base() }), "business_name");
    assert_eq!(bad(pb::UpdateBusinessSystemRequest { rate_limit: Some(200_000), ..base() }), "rate_limit");
    assert_eq!(bad(pb::UpdateBusinessSystemRequest { status: 9, ..base() }), "status");
    assert_eq!(BusinessStatus::from_stored(BusinessStatus::Active.as_str()), Some(BusinessStatus::Active));
}

#[test]
fn endpoint_owners_have_three_shapes() {
    let tenant = EndpointOwner::parse("owner", &format!("tenant:{}", ENDPOINT.to_uppercase())).expect("tenant");
    assert_eq!((tenant.to_string(), tenant.tenant_id()), (format!("tenant:{ENDPOINT}"), Some(ENDPOINT)));
    let business = EndpointOwner::parse("owner", "business:crm").expect("business");
    assert_eq!((business.to_string(), business.tenant_id()), ("business:crm".to_owned(), None));
    assert_eq!(EndpointOwner::parse("owner", "platform"), Ok(EndpointOwner::Platform));
    for bad in
        ["tenant:42", "business:CRM", "platform:x", "user:1", "tenant", "", &format!("business:{}", "a".repeat(130))]
    {
        assert_eq!(EndpointOwner::parse("owner", bad).expect_err(bad).field, "owner");
    }
}

#[test]
fn endpoint_upserts_default_owner_and_name() {
    let req = pb::UpsertEndpointRequest { url: "https://example.com/wh".into(), ..Default::default() };
    let parsed = EndpointUpsert::parse(&req).expect("valid");
    assert_eq!((parsed.owner, parsed.name.as_str()), (None, "default"));
    let bad = |r: pb::UpsertEndpointRequest| EndpointUpsert::parse(&r).expect_err("invalid").field;
    assert_eq!(bad(pb::UpsertEndpointRequest { owner: "nobody".into(), ..req.clone() }), "owner");
    assert_eq!(bad(pb::UpsertEndpointRequest { name: "Main".into(), ..req.clone() }), "name");
    assert_eq!(bad(pb::UpsertEndpointRequest { url: "https://u:p@example.com".into(), ..req.clone() }), "url");
    assert_eq!(bad(pb::UpsertEndpointRequest { description: "\u{0}".into(), ..req }), "description");
}

fn schedule_req() -> pb::CreateScheduleRequest {
    let mut template = spec();
    template.business_unique_id.clear();
    pb::CreateScheduleRequest {
        name: "nightly".into(),
        cron: "0 2 * * *".into(),
        time_zone: "Asia/Shanghai".into(),
        template: Some(template),
        missed_slot_policy: 0,
    }
}

#[test]
fn schedules_parse_cron_zone_template_and_policy() {
    let s = NewSchedule::parse(schedule_req(), now()).expect("valid");
    assert_eq!(
        (s.cron.expr(), s.cron.time_zone(), s.missed_slot_policy),
        ("0 2 * * *", "Asia/Shanghai", MissedSlotPolicy::RunOnce)
    );
    let bad = |edit: fn(&mut pb::CreateScheduleRequest)| {
        let mut r = schedule_req();
        edit(&mut r);
        NewSchedule::parse(r, now()).expect_err("invalid").field
    };
    assert_eq!(bad(|r| r.name.clear()), "name");
    assert_eq!(bad(|r| r.cron = "* * *".into()), "cron");
    assert_eq!(bad(|r| r.time_zone = "Moon/Base".into()), "time_zone");
    assert_eq!(bad(|r| r.template = None), "template");
    assert_eq!(bad(|r| r.template.as_mut().expect("template").target = http("nope")), "template.http.url");
    assert_eq!(bad(|r| r.missed_slot_policy = 7), "missed_slot_policy");
}

#[test]
fn schedule_updates_recombine_cron_and_zone_with_the_stored_ones() {
    let update = |edit: fn(&mut pb::UpdateScheduleRequest)| {
        let mut r = pb::UpdateScheduleRequest { id: ENDPOINT.into(), ..Default::default() };
        edit(&mut r);
        ScheduleUpdate::parse(r, now())
    };
    let unchanged = update(|_| {}).expect("valid");
    assert_eq!(unchanged.cron_schedule("0 2 * * *", "UTC"), Ok(None));
    let zone = update(|r| r.time_zone = Some("America/New_York".into())).expect("valid");
    let moved = zone.cron_schedule("0 2 * * *", "UTC").expect("valid").expect("changed");
    assert_eq!((moved.expr(), moved.time_zone()), ("0 2 * * *", "America/New_York"));
    let expr = update(|r| r.cron = Some("*/5 * * * * *".into())).expect("valid");
    let moved = expr.cron_schedule("0 2 * * *", "Asia/Shanghai").expect("valid").expect("changed");
    assert_eq!((moved.expr(), moved.time_zone()), ("*/5 * * * * *", "Asia/Shanghai"));
    let policy = update(|r| r.missed_slot_policy = pb::MissedSlotPolicy::Skip as i32).expect("valid");
    assert_eq!((policy.missed_slot_policy, unchanged.missed_slot_policy), (Some(MissedSlotPolicy::Skip), None));
    assert_eq!(update(|r| r.cron = Some("0 0 30 2 *".into())).expect_err("never").field, "cron");
    assert_eq!(update(|r| r.time_zone = Some("Nowhere".into())).expect_err("zone").field, "time_zone");
    assert_eq!(update(|r| r.name = Some(String::new())).expect_err("name").field, "name");
    assert_eq!(update(|r| r.id.clear()).expect_err("id").field, "id");
}
