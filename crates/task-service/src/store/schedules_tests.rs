//! Store tests of schedules against a real (fresh, migrated) database.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use wework_kit::testing::{TestDatabase, fresh_database};

use super::*;
use crate::store::entity::task;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("test timestamp").with_timezone(&Utc)
}

async fn db() -> (TestDatabase, DatabaseConnection) {
    let test_db = fresh_database("task").await;
    let db = wework_kit::db::connect_and_migrate::<task_migration::Migrator>(&test_db.settings)
        .await
        .expect("migrated test database");
    (test_db, db.writer().clone())
}

fn template() -> TaskTemplate {
    TaskTemplate {
        tenant_id: None,
        endpoint_id: None,
        callback_url: Some("https://example.com/hook".into()),
        callback_method: Some("POST".into()),
        headers: Some(vec![("x-a".into(), "1".into())]),
        content_type: Some("application/json".into()),
        body: b"{\"k\":1}\x00\xff".to_vec(),
        tags: vec!["nightly".into()],
        priority: 5,
        retry_intervals: vec![5, 300],
        max_retries: 2,
        timeout_ms: 15_000,
    }
}

fn new_schedule(business: &str, tenant: Option<&str>, name: &str, next: DateTime<Utc>) -> NewSchedule {
    NewSchedule {
        business_id: business.into(),
        tenant_id: tenant.map(Into::into),
        name: name.into(),
        cron: "0 * * * *".into(),
        time_zone: "UTC".into(),
        template: template(),
        missed_slot_policy: "run_once",
        next_run_at: Some(next),
    }
}

fn run_of(s: &schedule::Model, slot: DateTime<Utc>) -> NewTask {
    let template = TaskTemplate::from_stored(&s.template).expect("stored template");
    template.to_task(s, crate::domain::validate::BusinessUniqueId::for_slot(&s.id, slot).into_inner(), slot)
}

#[test]
fn template_round_trips_with_a_base64_body() {
    let t = template();
    let stored = t.to_stored();
    assert!(stored.contains("\"body\":\"eyJrIjoxfQD/\""), "{stored}");
    assert_eq!(TaskTemplate::from_stored(&stored).expect("parses"), t);
}

#[tokio::test]
async fn schedules_are_scoped_listed_updated_and_deleted() {
    let (_guard, db) = db().await;
    let now = at("2030-01-01T00:00:00Z");
    let a = insert_schedule(&db, new_schedule("biz-a", None, "nightly", now), now).await.expect("insert");
    let t = insert_schedule(&db, new_schedule("platform", Some("t1"), "t1-job", now), now).await.expect("insert");
    let dup = insert_schedule(&db, new_schedule("biz-a", None, "nightly", now), now).await.expect_err("duplicate");
    assert_eq!(classify_db_err(&dup), DbErrorKind::Duplicate);

    assert!(find_schedule(&db, &a.id, &Scope::business("biz-a")).await.expect("find").is_some());
    assert!(find_schedule(&db, &a.id, &Scope::business("biz-b")).await.expect("find").is_none());
    assert!(find_schedule(&db, &a.id, &Scope::tenant("t1")).await.expect("find").is_none());
    assert!(find_schedule(&db, &t.id, &Scope::tenant("t1")).await.expect("find").is_some());
    assert!(find_schedule(&db, &t.id, &Scope::platform()).await.expect("find").is_some());

    let (all, next) = list_schedules(&db, &Scope::platform(), None, 1).await.expect("list");
    assert_eq!(all.len(), 1);
    let (rest, end) = list_schedules(&db, &Scope::platform(), next.as_ref(), 1).await.expect("list");
    assert_eq!((rest.len(), end), (1, None));
    assert_ne!(all[0].id, rest[0].id);
    let (mine, _) = list_schedules(&db, &Scope::tenant("t1"), None, 10).await.expect("list");
    assert_eq!(mine.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec![t.id.as_str()]);

    let later = now + Duration::hours(1);
    let changes = ScheduleChanges {
        name: Some("renamed".into()),
        cron: Some("*/5 * * * *".into()),
        next_run_at: Some(Some(later)),
        ..ScheduleChanges::default()
    };
    let updated = update_schedule(&db, a.clone(), changes, later).await.expect("update");
    assert_eq!((updated.name.as_str(), updated.cron.as_str()), ("renamed", "*/5 * * * *"));
    assert_eq!((updated.next_run_at, updated.updated_at, updated.created_at), (Some(later), later, now));
    let paused = set_schedule_active(&db, updated, false, None, later).await.expect("pause");
    assert!(!paused.active);

    assert!(!delete_schedule(&db, &a.id, &Scope::business("biz-b")).await.expect("delete"));
    assert!(delete_schedule(&db, &a.id, &Scope::business("biz-a")).await.expect("delete"));
    assert!(find_schedule(&db, &a.id, &Scope::platform()).await.expect("find").is_none());
}

#[tokio::test]
async fn only_active_schedules_that_are_due_are_picked() {
    let (_guard, db) = db().await;
    let now = at("2030-01-01T00:00:00Z");
    let due = insert_schedule(&db, new_schedule("b", None, "due", now), now).await.expect("insert");
    insert_schedule(&db, new_schedule("b", None, "later", now + Duration::seconds(1)), now).await.expect("insert");
    let paused = insert_schedule(&db, new_schedule("b", None, "paused", now), now).await.expect("insert");
    set_schedule_active(&db, paused, false, Some(now), now).await.expect("pause");
    let picked = due_schedules(&db, now, 10).await.expect("due");
    assert_eq!(picked.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec![due.id.as_str()]);
}

#[tokio::test]
async fn a_slot_fires_once_and_deleting_removes_its_ticks() {
    let (_guard, db) = db().await;
    let slot = at("2030-01-01T00:00:00Z");
    let now = slot + Duration::seconds(2);
    let next = slot + Duration::hours(1);
    let s = insert_schedule(&db, new_schedule("b", None, "hourly", slot), slot).await.expect("insert");

    let id = fire_slot(&db, &s, slot, run_of(&s, slot), Some(next), now).await.expect("fire").expect("fired");
    let task = task::Entity::find_by_id(id.clone()).one(&db).await.expect("read").expect("task");
    assert_eq!(task.business_unique_id, format!("{}:2030-01-01T00:00:00Z", s.id));
    assert_eq!((task.schedule_id.as_deref(), task.scheduled_at), (Some(s.id.as_str()), slot));
    let tick = schedule_tick::Entity::find_by_id((s.id.clone(), slot)).one(&db).await.expect("read").expect("tick");
    assert_eq!(tick.task_id, id);
    let after = find_schedule(&db, &s.id, &Scope::platform()).await.expect("find").expect("schedule");
    assert_eq!((after.last_run_at, after.next_run_at), (Some(slot), Some(next)));

    // A replica that read the schedule before the fire changes nothing.
    assert_eq!(fire_slot(&db, &s, slot, run_of(&s, slot), Some(next), now).await.expect("fire"), None);
    let later = slot + Duration::minutes(30);
    assert_eq!(fire_slot(&db, &s, later, run_of(&s, later), Some(next), now).await.expect("fire"), None);
    assert!(!advance_schedule(&db, &s, Some(next + Duration::hours(1))).await.expect("advance"));
    assert_eq!(task::Entity::find().count(&db).await.expect("count"), 1);
    assert_eq!(schedule_tick::Entity::find().count(&db).await.expect("count"), 1);

    assert!(delete_schedule(&db, &s.id, &Scope::platform()).await.expect("delete"));
    assert_eq!(schedule_tick::Entity::find().count(&db).await.expect("count"), 0);
    assert_eq!(task::Entity::find().count(&db).await.expect("count"), 1, "runs are history");
}

#[tokio::test]
async fn concurrent_fires_of_one_slot_create_one_task() {
    let (guard, db) = db().await;
    let other = wework_kit::db::connect(&guard.settings).await.expect("second pool");
    let other = other.writer().clone();
    let slot = at("2030-01-01T00:00:00Z");
    let next = Some(slot + Duration::hours(1));
    let s = insert_schedule(&db, new_schedule("b", None, "hourly", slot), slot).await.expect("insert");
    let (a, b) = tokio::join!(
        fire_slot(&db, &s, slot, run_of(&s, slot), next, slot),
        fire_slot(&other, &s, slot, run_of(&s, slot), next, slot),
    );
    let fired = [a.expect("fire a"), b.expect("fire b")];
    assert_eq!(fired.iter().filter(|f| f.is_some()).count(), 1, "{fired:?}");
    assert_eq!(task::Entity::find().count(&db).await.expect("count"), 1);
}

#[tokio::test]
async fn a_skipped_slot_only_advances() {
    let (_guard, db) = db().await;
    let slot = at("2030-01-01T00:00:00Z");
    let next = Some(slot + Duration::hours(1));
    let s = insert_schedule(&db, new_schedule("b", None, "hourly", slot), slot).await.expect("insert");
    assert!(advance_schedule(&db, &s, next).await.expect("advance"));
    let after = find_schedule(&db, &s.id, &Scope::platform()).await.expect("find").expect("schedule");
    assert_eq!((after.last_run_at, after.next_run_at), (None, next));
    assert_eq!(task::Entity::find().count(&db).await.expect("count"), 0);
}
