//! Cron schedules: two schedulers on one database fire each slot once;
//! missed slots after downtime follow the policy; pause, trigger now.

use wework_proto::task::{self as pb, MissedSlotPolicy};

use crate::helpers::*;

fn create(name: &str, cron: &str, policy: MissedSlotPolicy) -> pb::CreateScheduleRequest {
    pb::CreateScheduleRequest {
        name: name.to_owned(),
        cron: cron.to_owned(),
        time_zone: "Asia/Shanghai".into(),
        template: Some(pb::TaskSpec {
            target: Some(pb::task_spec::Target::Http(pb::HttpTarget {
                url: "https://example.com/cron".into(),
                ..Default::default()
            })),
            body: b"{}".to_vec(),
            ..Default::default()
        }),
        missed_slot_policy: policy as i32,
    }
}

async fn runs_of(app: &TestApp, schedule_id: &str) -> Vec<pb::Task> {
    let tasks = app
        .tasks()
        .list_tasks(app.platform(pb::ListTasksRequest {
            page: Some(wework_proto::common::PageRequest { page_size: 500, page_token: String::new() }),
            ..Default::default()
        }))
        .await
        .expect("list")
        .into_inner()
        .tasks;
    tasks.into_iter().filter(|t| t.schedule_id == schedule_id).collect()
}

#[tokio::test]
async fn two_schedulers_fire_each_slot_exactly_once() {
    // Workers off: the test drives both schedulers' ticks itself.
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let other = app.replica(|_| {}).await;
    let schedule = app
        .schedules()
        .create_schedule(app.platform(create("every-minute", "* * * * *", MissedSlotPolicy::RunOnce)))
        .await
        .expect("create")
        .into_inner();
    assert!(schedule.next_run_at.is_some());
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::seconds(60));
        let (a, b) = tokio::join!(
            task_service::worker::scheduler::tick(&app.state),
            task_service::worker::scheduler::tick(&other.state)
        );
        assert_eq!(a.expect("tick a") + b.expect("tick b"), 1, "one run per slot");
    }
    let runs = runs_of(&app, &schedule.id).await;
    assert_eq!(runs.len(), 3);
    let mut keys: Vec<_> = runs.iter().map(|t| t.business_unique_id.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "each slot is its own run");
}

#[tokio::test]
async fn missed_slots_after_downtime_follow_the_policy() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let run_once = app
        .schedules()
        .create_schedule(app.platform(create("hourly-once", "0 * * * *", MissedSlotPolicy::RunOnce)))
        .await
        .expect("create")
        .into_inner();
    let skip = app
        .schedules()
        .create_schedule(app.platform(create("hourly-skip", "0 * * * *", MissedSlotPolicy::Skip)))
        .await
        .expect("create")
        .into_inner();
    // Down for five and a half hours: five slots missed.
    app.clock.advance(chrono::Duration::minutes(330));
    task_service::worker::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(runs_of(&app, &run_once.id).await.len(), 1, "run once, not five times");
    assert_eq!(runs_of(&app, &skip.id).await.len(), 0, "skipped: the slot is long gone");
    // Back on time: the next slot runs for both.
    app.clock.advance(chrono::Duration::minutes(30));
    task_service::worker::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(runs_of(&app, &run_once.id).await.len(), 2);
    assert_eq!(runs_of(&app, &skip.id).await.len(), 1);
}

#[tokio::test]
async fn paused_schedules_do_not_run_and_trigger_runs_now() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let schedule = app
        .schedules()
        .create_schedule(app.platform(create("paused", "* * * * *", MissedSlotPolicy::RunOnce)))
        .await
        .expect("create")
        .into_inner();
    let paused = app
        .schedules()
        .pause_schedule(app.platform(pb::ScheduleRef { id: schedule.id.clone() }))
        .await
        .expect("pause")
        .into_inner();
    assert!(!paused.active);
    app.clock.advance(chrono::Duration::minutes(5));
    task_service::worker::scheduler::tick(&app.state).await.expect("tick");
    assert!(runs_of(&app, &schedule.id).await.is_empty());
    let run = app
        .schedules()
        .trigger_schedule(app.platform(pb::ScheduleRef { id: schedule.id.clone() }))
        .await
        .expect("trigger")
        .into_inner();
    assert_eq!(run.schedule_id, schedule.id);
    let bad = app
        .schedules()
        .create_schedule(app.platform(create("bad", "every day", MissedSlotPolicy::RunOnce)))
        .await
        .expect_err("bad cron");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn schedule_names_are_per_tenant() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let perms = ["endpoint:write", "schedule:write", "schedule:read"];
    for _ in 0..2 {
        let tenant = uuid::Uuid::now_v7().to_string();
        let endpoint = app
            .endpoints()
            .upsert_endpoint(app.tenant(
                &tenant,
                &perms,
                pb::UpsertEndpointRequest { url: "https://example.com/t".into(), ..Default::default() },
            ))
            .await
            .expect("endpoint")
            .into_inner()
            .endpoint
            .expect("endpoint");
        let mut req = create("nightly", "0 3 * * *", MissedSlotPolicy::RunOnce);
        if let Some(t) = req.template.as_mut() {
            t.target = Some(pb::task_spec::Target::EndpointId(endpoint.id.clone()));
        }
        let schedule = app
            .schedules()
            .create_schedule(app.tenant(&tenant, &perms, req.clone()))
            .await
            .expect("each tenant may use the name")
            .into_inner();
        assert_eq!(schedule.tenant_id, tenant);
        let dup = app.schedules().create_schedule(app.tenant(&tenant, &perms, req)).await.expect_err("same tenant");
        assert_eq!(dup.code(), tonic::Code::AlreadyExists);
    }
}

#[tokio::test]
async fn a_disabled_business_system_runs_no_schedules() {
    let app = spawn_app_with(|s| s.worker.enabled = false).await;
    let creds = app.register_business("cron-off", 0).await;
    let schedule = app
        .schedules()
        .create_schedule(as_business(
            &creds.api_key,
            &creds.api_secret,
            create("minutely", "* * * * *", MissedSlotPolicy::RunOnce),
        ))
        .await
        .expect("create")
        .into_inner();
    app.business()
        .update_business_system(app.platform(pb::UpdateBusinessSystemRequest {
            id: creds.system.id.clone(),
            status: pb::BusinessStatus::Disabled as i32,
            ..Default::default()
        }))
        .await
        .expect("disable");
    app.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(task_service::worker::scheduler::tick(&app.state).await.expect("tick"), 0);
    assert!(runs_of(&app, &schedule.id).await.is_empty());
}
